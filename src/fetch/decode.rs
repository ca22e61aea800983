//! Bytes of an HTML page → text, and of an XML document → UTF-8 where its parser needs it
//! ([`decode_xml`]). A page's charset comes from, in order: the Content-Type header, a
//! byte-order mark, a `<meta charset>` or `<meta http-equiv>` in the head, detection. Labels are
//! read as browsers read them (WHATWG), so `Shift_JIS` decodes as windows-31j and keeps ①, ㈱
//! and 髙.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use std::borrow::Cow;

/// How far into a page a `<meta>` declaration is looked for.
const META_SCAN_BYTES: usize = 64 * 1024;

/// Decodes a page; malformed sequences become U+FFFD rather than failing the page.
pub fn decode_html(bytes: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let encoding = content_type
        .and_then(charset_param)
        .or_else(|| Encoding::for_bom(bytes).map(|(e, _)| e))
        .or_else(|| meta_charset(bytes))
        .unwrap_or_else(|| detect(bytes));
    let (text, _, _) = encoding.decode(bytes);
    (text.into_owned(), encoding)
}

/// The `charset` parameter of a Content-Type value.
fn charset_param(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| Encoding::for_label(value.trim().trim_matches(['"', '\'']).as_bytes()))
            .flatten()
    })
}

/// A charset declared by a `<meta>` tag in the first [`META_SCAN_BYTES`] of the page.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_SCAN_BYTES)];
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let start = from + at;
        let end = find(&lower[start..], b">").map_or(lower.len(), |e| start + e);
        if let Some(enc) = charset_in_tag(&lower[start..end]) {
            // A page that says UTF-16 in ASCII cannot be UTF-16 (HTML spec).
            return Some(if enc.name().starts_with("UTF-16") {
                UTF_8
            } else {
                enc
            });
        }
        from = end;
    }
    None
}

/// `charset=...` inside one tag: `<meta charset="x">` or the content of an http-equiv meta.
fn charset_in_tag(tag: &[u8]) -> Option<&'static Encoding> {
    let at = find(tag, b"charset")?;
    let rest = &tag[at + b"charset".len()..];
    let rest = rest
        .trim_ascii_start()
        .strip_prefix(b"=")?
        .trim_ascii_start();
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let len = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') || b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..len])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// UTF-8 when the bytes are valid UTF-8, else a guess for a Japanese page. ISO-2022-JP is
/// 7-bit and so valid UTF-8 too: the escape byte tells it apart.
fn detect(bytes: &[u8]) -> &'static Encoding {
    if !bytes.contains(&0x1B) && std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(Some(b"jp"), true)
}

/// The bytes of an XML document as UTF-8, for a parser that reads only ASCII-compatible
/// encodings safely: UTF-16 and UTF-32, told by a byte-order mark or by how `<?` is laid out
/// (XML 1.0, Appendix F), are decoded here and the declaration made to say UTF-8. Anything
/// else is returned as it is, for the parser to read by its declaration. quick-xml 0.38 (under
/// feed-rs 3.0) panics with "set_encoding() called after prefix buffer was drained" on a
/// UTF-16 document with a BOM, and takes the thread down with it. No report of it was found
/// among quick-xml's issues; it is yet to be reported (this machine has no way out to do so).
pub fn decode_xml(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Some((width, big_endian, bom)) = wide_encoding(bytes) else {
        return Cow::Borrowed(bytes);
    };
    let body = &bytes[bom..];
    let text = match width {
        2 => {
            let encoding = if big_endian { UTF_16BE } else { UTF_16LE };
            encoding.decode_without_bom_handling(body).0.into_owned()
        }
        _ => body
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                let n = if big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                };
                char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
    };
    Cow::Owned(declare_utf8(text).into_bytes())
}

/// (bytes per unit, big-endian, BOM length) of a UTF-16 or UTF-32 document.
fn wide_encoding(bytes: &[u8]) -> Option<(usize, bool, usize)> {
    match bytes {
        [0x00, 0x00, 0xFE, 0xFF, ..] => Some((4, true, 4)),
        [0xFF, 0xFE, 0x00, 0x00, ..] => Some((4, false, 4)),
        [0xFE, 0xFF, ..] => Some((2, true, 2)),
        [0xFF, 0xFE, ..] => Some((2, false, 2)),
        [0x00, 0x00, 0x00, b'<', ..] => Some((4, true, 0)),
        [b'<', 0x00, 0x00, 0x00, ..] => Some((4, false, 0)),
        [0x00, b'<', 0x00, b'?', ..] => Some((2, true, 0)),
        [b'<', 0x00, b'?', 0x00, ..] => Some((2, false, 0)),
        _ => None,
    }
}

/// Makes an XML declaration's `encoding` say UTF-8, which the text now is.
fn declare_utf8(mut text: String) -> String {
    if !text.starts_with("<?xml") {
        return text;
    }
    let Some(end) = text.find("?>") else {
        return text;
    };
    let Some(at) = text[..end].find("encoding") else {
        return text;
    };
    let rest = &text[at + "encoding".len()..end];
    let Some(open) = rest.find(['"', '\'']) else {
        return text;
    };
    let quote = &rest[open..=open];
    let Some(len) = rest[open + 1..].find(quote) else {
        return text;
    };
    let start = at + "encoding".len() + open + 1;
    text.replace_range(start..start + len, "UTF-8");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_charset_wins() {
        let (t, e) = decode_html(b"abc", Some("text/html; Charset=\"Shift_JIS\""));
        assert_eq!((t.as_str(), e.name()), ("abc", "Shift_JIS"));
    }

    #[test]
    fn meta_declarations_are_found() {
        let sjis = encoding_rs::SHIFT_JIS.encode("①㈱髙").0;
        let mut page = b"<html><head><META http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\"></head><body>".to_vec();
        page.extend_from_slice(&sjis);
        let (t, _) = decode_html(&page, Some("text/html"));
        assert!(t.ends_with("①㈱髙"), "{t}");
        let (_, e) = decode_html(b"<meta charset='euc-jp'>", None);
        assert_eq!(e.name(), "EUC-JP");
    }

    #[test]
    fn undeclared_pages_are_detected() {
        let text = "宅配便業者をかたる偽ショートメッセージに関する相談が急増中。".repeat(4);
        let euc = encoding_rs::EUC_JP.encode(&text).0;
        let (t, e) = decode_html(&euc, None);
        assert_eq!((t.as_str(), e.name()), (text.as_str(), "EUC-JP"));
        let (u, e) = decode_html(text.as_bytes(), None);
        assert_eq!((u.as_str(), e.name()), (text.as_str(), "UTF-8"));
        let jis = encoding_rs::ISO_2022_JP.encode(&text).0;
        let (j, e) = decode_html(&jis, None);
        assert_eq!((j.as_str(), e.name()), (text.as_str(), "ISO-2022-JP"));
    }

    #[test]
    fn wide_xml_is_decoded_and_declared_utf8() {
        let doc = "<?xml version=\"1.0\" encoding='UTF-16'?><rss>警告</rss>";
        let le_bom: Vec<u8> = std::iter::once(0xFEFF)
            .chain(doc.encode_utf16())
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = doc.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let utf32: Vec<u8> = doc
            .chars()
            .flat_map(|c| u32::from(c).to_be_bytes())
            .collect();
        let expected = "<?xml version=\"1.0\" encoding='UTF-8'?><rss>警告</rss>";
        for bytes in [le_bom, be, utf32] {
            assert_eq!(std::str::from_utf8(&decode_xml(&bytes)).unwrap(), expected);
        }
        let utf8 = doc.as_bytes();
        assert!(matches!(decode_xml(utf8), Cow::Borrowed(b) if b == utf8));
    }
}
