#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kairan_fuzz::article(data));
