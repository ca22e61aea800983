//! Text as people write it, read the same way by every stage: cleanup (control characters,
//! whitespace, length bounds), folding for comparison, and in [`date`] the one date parser that
//! listings, feeds and every later reader of dates share.

pub mod date;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Longest title kept, in characters; longer ones are cut with an ellipsis.
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest summary kept, in characters.
pub const MAX_SUMMARY_CHARS: usize = 2000;
/// Length of an article's excerpt, the summary of an entry whose listing has none.
pub const MAX_EXCERPT_CHARS: usize = 300;

/// NFKC and lower case: the form titles and rule words are compared in, so that full-width and
/// half-width forms (ＳＭＳ, SMS, sms) are one.
pub fn fold(s: &str) -> String {
    // Most titles and summaries are ASCII, kana, kanji and common CJK punctuation, which NFKC
    // leaves as they are: they need neither normalization tables nor case tables.
    if s.chars().all(|c| c.is_ascii() || is_stable_cjk(c)) {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    if is_nfkc_quick(s.chars()) == IsNormalized::Yes {
        out.extend(s.chars().flat_map(char::to_lowercase));
    } else {
        out.extend(s.nfkc().flat_map(char::to_lowercase));
    }
    out
}

/// Characters that NFKC maps to themselves and that no neighbour can recompose, and that have
/// no case: CJK punctuation up to the combining tone marks, hiragana and katakana without the
/// combining and compatibility sound marks, and the CJK unified ideographs.
fn is_stable_cjk(c: char) -> bool {
    matches!(c, '\u{3001}'..='\u{3029}' | '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FE}' | '\u{4E00}'..='\u{9FFF}')
}

/// Characters that may not (or should not) appear in XML 1.0 output: C0 controls other than tab,
/// newline and carriage return, DEL, C1 controls, and the non-characters U+FFFE and U+FFFF.
fn is_xml_unsafe(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Bytes as lower-case hexadecimal, two digits a byte: hashes written as ids, tags and stamps.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Removes characters that XML cannot carry; everything else is kept as is.
pub fn xml_safe(s: &str) -> String {
    s.chars().filter(|&c| !is_xml_unsafe(c)).collect()
}

/// One line of text: unsafe characters removed (not replaced: a NUL inside a word must not split
/// it), every run of white space (line breaks and full-width spaces included) made one ASCII
/// space, trimmed.
pub fn clean_line(s: &str) -> String {
    // One pass, no copy of the text on the way, and what is kept copied a stretch at a time
    // rather than a character at a time: every row's title and summary comes here.
    let mut out = String::with_capacity(s.len());
    let mut gap = false;
    // Where the characters not yet copied begin.
    let mut kept = 0;
    for (i, c) in s.char_indices() {
        let unsafe_ = is_xml_unsafe(c);
        if !unsafe_ && !c.is_whitespace() {
            if gap {
                // Nothing is pending here: the white space moved `kept` past itself.
                out.push(' ');
                gap = false;
            }
            continue;
        }
        out.push_str(&s[kept..i]);
        kept = i + c.len_utf8();
        if !unsafe_ {
            gap = !out.is_empty();
        }
    }
    out.push_str(&s[kept..]);
    out
}

/// Text of several paragraphs: each line cleaned as by [`clean_line`], empty lines dropped,
/// paragraphs joined by `\n`.
pub fn clean_paragraphs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines().map(clean_line).filter(|l| !l.is_empty()) {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&line);
    }
    out
}

/// Cuts `s` to at most `max` characters, the last being an ellipsis; returns whether it cut.
pub fn truncate(s: &mut String, max: usize) -> bool {
    // No more bytes than `max` is no more characters: nothing to count.
    if s.len() <= max {
        return false;
    }
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if s[at..].chars().count() > 1 => {
            s.truncate(at);
            s.truncate(s.trim_end().len());
            s.push('…');
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_makes_width_and_case_one() {
        assert_eq!(fold("ＳＭＳ　Ｐａｓｓ"), "sms pass");
        assert_eq!(fold("２０２３"), "2023");
        assert_eq!(fold("ﾊﾟｽﾜｰﾄﾞＡ"), "パスワードa");
    }

    #[test]
    fn the_stable_cjk_characters_fold_to_themselves() {
        for c in ('\u{3000}'..='\u{9FFF}').filter(|&c| is_stable_cjk(c)) {
            let alone = c.to_string();
            assert_eq!(alone.nfkc().collect::<String>(), alone, "{c:?}");
            assert!(c.to_lowercase().eq([c]), "{c:?} has a lower case");
            // A starter: composition only ever joins a starter with what follows it, and the
            // characters that can follow to compose (marks, jamo, vowel signs) are not here.
            assert_eq!(unicode_normalization::char::canonical_combining_class(c), 0);
        }
        let all: String = ('\u{3000}'..='\u{9FFF}')
            .filter(|&c| is_stable_cjk(c))
            .collect();
        assert!(all.nfkc().eq(all.chars()));
        assert_eq!(fold(&format!("{all}ABC")), format!("{all}abc"));
    }

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff, 0x3c]), "000fa0ff3c");
        assert_eq!(hex(&[]), "");
    }

    #[test]
    fn clean_line_collapses_all_white_space_and_drops_controls() {
        assert_eq!(
            clean_line("\u{3000} 偽の\n\t警告\u{0}\u{1}です  "),
            "偽の 警告です"
        );
        assert_eq!(clean_line("a\u{8}b\u{B}c"), "abc");
        // A removed character between two spaces leaves one; NEL is a C1 control, removed.
        assert_eq!(clean_line("a \u{0} b\u{85}c"), "a bc");
        assert_eq!(clean_line(" \u{3000}\n "), "");
        assert_eq!(clean_line("一語"), "一語");
    }

    proptest::proptest! {
        /// Copied a stretch at a time, a line is still what its definition says: the unsafe
        /// characters removed, then the words joined by one space.
        #[test]
        fn clean_line_is_the_words_of_the_safe_text(chars in proptest::collection::vec(
            proptest::sample::select(&[
                'a', 'Z', 'あ', '漢', 'ｱ', ' ', '\t', '\n', '\r', '\u{3000}', '\u{A0}',
                '\u{2028}', '\u{0}', '\u{B}', '\u{C}', '\u{1F}', '\u{7F}', '\u{85}',
                '\u{9F}', '\u{FFFF}',
            ][..]),
            0..40,
        )) {
            let s: String = chars.into_iter().collect();
            let safe = xml_safe(&s);
            let expected = safe.split_whitespace().collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(clean_line(&s), expected);
        }
    }

    #[test]
    fn clean_paragraphs_keeps_line_breaks_between_paragraphs() {
        assert_eq!(
            clean_paragraphs(" 一行目 \n\n  二行目\r\n"),
            "一行目\n二行目"
        );
    }

    #[test]
    fn xml_safe_keeps_tabs_and_newlines() {
        assert_eq!(xml_safe("a\tb\nc\u{B}d\u{FFFF}"), "a\tb\ncd");
    }

    #[test]
    fn truncate_cuts_on_characters_with_an_ellipsis() {
        let mut s = "あいうえお".to_owned();
        assert!(truncate(&mut s, 3));
        assert_eq!(s, "あい…");
        let mut short = "あい".to_owned();
        assert!(!truncate(&mut short, 3));
        assert_eq!(short, "あい");
        let mut exact = "あいう".to_owned();
        assert!(!truncate(&mut exact, 3));
        let mut ascii = "abcd".to_owned();
        assert!(!truncate(&mut ascii, 4));
        ascii.push('e');
        assert!(truncate(&mut ascii, 4));
        assert_eq!(ascii, "abc…");
    }
}
