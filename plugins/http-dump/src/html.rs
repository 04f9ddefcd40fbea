//! A small, tolerant HTML tokenizer: start/end tags with attributes, text with
//! character references decoded, comments and doctypes skipped, and the raw-text
//! elements (`script`, `style`, `textarea`, `title`) read up to their end tag.
//! It never fails: anything it cannot parse as markup is text.

/// One token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A start tag: lowercase name, attributes (lowercase names, decoded values),
    /// and whether it was written `<x/>`.
    Start {
        name: String,
        attrs: Vec<(String, String)>,
        self_closing: bool,
    },
    End {
        name: String,
    },
    Text(String),
}

impl Token {
    /// The value of attribute `name` of a start tag.
    pub fn attr(&self, name: &str) -> Option<&str> {
        match self {
            Token::Start { attrs, .. } => attrs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            _ => None,
        }
    }
}

/// Elements whose content is raw text up to the matching end tag.
const RAW_TEXT: [&str; 4] = ["script", "style", "textarea", "title"];

/// Splits `html` into tokens.
pub fn tokenize(html: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    let flush_text = |tokens: &mut Vec<Token>, from: usize, to: usize| {
        if from < to {
            tokens.push(Token::Text(decode_entities(&html[from..to])));
        }
    };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &html[i..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            flush_text(&mut tokens, text_start, i);
            let end = comment.find("-->").map_or(html.len(), |e| i + 4 + e + 3);
            i = end;
            text_start = i;
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            flush_text(&mut tokens, text_start, i);
            i = rest.find('>').map_or(html.len(), |e| i + e + 1);
            text_start = i;
            continue;
        }
        let closing = rest.starts_with("</");
        let name_start = i + if closing { 2 } else { 1 };
        let name_len = html[name_start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':')
            .count();
        let starts_with_letter = html[name_start..]
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic());
        if name_len == 0 || !starts_with_letter {
            // "<" that opens no tag ("a < b", "</ >"): keep it as text.
            i += 1;
            continue;
        }
        flush_text(&mut tokens, text_start, i);
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        let (attrs, self_closing, end) = parse_attrs(html, name_start + name_len);
        i = end;
        text_start = i;
        if closing {
            tokens.push(Token::End { name });
            continue;
        }
        let raw = RAW_TEXT.contains(&name.as_str()) && !self_closing;
        tokens.push(Token::Start {
            name: name.clone(),
            attrs,
            self_closing,
        });
        if raw {
            let close = format!("</{name}");
            let content_end = find_ci(&html[i..], &close).map_or(html.len(), |e| i + e);
            if content_end > i {
                let content = &html[i..content_end];
                // Script and style content is never text; title/textarea text is.
                let text = if name == "script" || name == "style" {
                    content.to_owned()
                } else {
                    decode_entities(content)
                };
                tokens.push(Token::Text(text));
            }
            tokens.push(Token::End { name: name.clone() });
            i = html[content_end..]
                .find('>')
                .map_or(html.len(), |e| content_end + e + 1);
            text_start = i;
        }
    }
    flush_text(&mut tokens, text_start, html.len());
    tokens
}

/// Case-insensitive ASCII search.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..=h.len().checked_sub(n.len())?).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Parses attributes from `start` up to the closing `>`; returns them, whether
/// the tag ends with `/>`, and the index after `>`.
fn parse_attrs(html: &str, start: usize) -> (Vec<(String, String)>, bool, usize) {
    let b = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = start;
    let mut self_closing = false;
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            self_closing = b[i] == b'/';
            i += 1;
        }
        if i >= b.len() {
            return (attrs, self_closing, b.len());
        }
        if b[i] == b'>' {
            return (attrs, self_closing, i + 1);
        }
        self_closing = false;
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        let name = html[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vstart = i + 1;
                let vend = html[vstart..]
                    .bytes()
                    .position(|c| c == q)
                    .map_or(b.len(), |p| vstart + p);
                value = decode_entities(&html[vstart..vend]);
                i = (vend + 1).min(b.len());
            } else {
                let vstart = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&html[vstart..i]);
            }
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

/// Named character references we decode (the common ones; others stay as written).
const ENTITIES: &[(&str, &str)] = &[
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", "\u{a0}"),
    ("copy", "©"),
    ("reg", "®"),
    ("trade", "™"),
    ("mdash", "—"),
    ("ndash", "–"),
    ("hellip", "…"),
    ("laquo", "«"),
    ("raquo", "»"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("sbquo", "‚"),
    ("bdquo", "„"),
    ("bull", "•"),
    ("middot", "·"),
    ("deg", "°"),
    ("plusmn", "±"),
    ("times", "×"),
    ("divide", "÷"),
    ("euro", "€"),
    ("pound", "£"),
    ("yen", "¥"),
    ("cent", "¢"),
    ("sect", "§"),
    ("para", "¶"),
    ("iexcl", "¡"),
    ("iquest", "¿"),
    ("shy", "\u{ad}"),
    ("micro", "µ"),
    ("larr", "←"),
    ("rarr", "→"),
    ("uarr", "↑"),
    ("darr", "↓"),
    ("harr", "↔"),
    ("rArr", "⇒"),
    ("hearts", "♥"),
    ("check", "✓"),
    ("frac12", "½"),
    ("frac14", "¼"),
    ("frac34", "¾"),
    ("sup2", "²"),
    ("sup3", "³"),
    ("ensp", "\u{2002}"),
    ("emsp", "\u{2003}"),
    ("thinsp", "\u{2009}"),
    ("zwnj", "\u{200c}"),
    ("zwj", "\u{200d}"),
    ("aacute", "á"),
    ("agrave", "à"),
    ("acirc", "â"),
    ("auml", "ä"),
    ("atilde", "ã"),
    ("aring", "å"),
    ("aelig", "æ"),
    ("ccedil", "ç"),
    ("eacute", "é"),
    ("egrave", "è"),
    ("ecirc", "ê"),
    ("euml", "ë"),
    ("iacute", "í"),
    ("igrave", "ì"),
    ("icirc", "î"),
    ("iuml", "ï"),
    ("ntilde", "ñ"),
    ("oacute", "ó"),
    ("ograve", "ò"),
    ("ocirc", "ô"),
    ("ouml", "ö"),
    ("otilde", "õ"),
    ("oslash", "ø"),
    ("uacute", "ú"),
    ("ugrave", "ù"),
    ("ucirc", "û"),
    ("uuml", "ü"),
    ("yacute", "ý"),
    ("yuml", "ÿ"),
    ("szlig", "ß"),
    ("Aacute", "Á"),
    ("Agrave", "À"),
    ("Acirc", "Â"),
    ("Auml", "Ä"),
    ("Aring", "Å"),
    ("AElig", "Æ"),
    ("Ccedil", "Ç"),
    ("Eacute", "É"),
    ("Egrave", "È"),
    ("Ntilde", "Ñ"),
    ("Oacute", "Ó"),
    ("Ouml", "Ö"),
    ("Oslash", "Ø"),
    ("Uacute", "Ú"),
    ("Uuml", "Ü"),
];

/// References that may appear without `;` in old pages.
const LEGACY: [&str; 5] = ["amp", "lt", "gt", "quot", "nbsp"];

/// Decodes character references; unknown or malformed ones are kept verbatim.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match decode_one(rest) {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Decodes the reference at the start of `s` (which starts with `&`).
fn decode_one(s: &str) -> Option<(String, usize)> {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (num, 10, 2),
        };
        let len = digits.chars().take_while(|c| c.is_digit(radix)).count();
        if len == 0 {
            return None;
        }
        let code = u32::from_str_radix(&digits[..len], radix).ok()?;
        let c = match code {
            0 => '\u{fffd}',
            // Windows-1252 quirks that pages still send.
            0x91 => '‘',
            0x92 => '’',
            0x93 => '“',
            0x94 => '”',
            0x96 => '–',
            0x97 => '—',
            _ => char::from_u32(code).unwrap_or('\u{fffd}'),
        };
        let semi = usize::from(digits[len..].starts_with(';'));
        return Some((c.to_string(), skip + len + semi));
    }
    let len = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let name = &body[..len];
    let value = ENTITIES.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)?;
    if body[len..].starts_with(';') {
        Some((value.to_owned(), 1 + len + 1))
    } else if LEGACY.contains(&name) {
        Some((value.to_owned(), 1 + len))
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn start(name: &str, attrs: &[(&str, &str)]) -> Token {
        Token::Start {
            name: name.into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            self_closing: false,
        }
    }

    #[test]
    fn tags_attrs_and_text() {
        let t = tokenize(r#"<P CLASS=x id="a&amp;b" hidden>Hi &lt;there&gt;</P><br/>"#);
        assert_eq!(
            t,
            vec![
                start("p", &[("class", "x"), ("id", "a&b"), ("hidden", "")]),
                Token::Text("Hi <there>".into()),
                Token::End { name: "p".into() },
                Token::Start {
                    name: "br".into(),
                    attrs: vec![],
                    self_closing: true
                },
            ]
        );
        assert_eq!(t[0].attr("id"), Some("a&b"));
    }

    #[test]
    fn comments_doctype_and_raw_text() {
        let t = tokenize("<!DOCTYPE html><!-- <p>no</p> --><script>if (a<b) x='</p>';</SCRIPT>ok");
        assert_eq!(
            t,
            vec![
                start("script", &[]),
                Token::Text("if (a<b) x='</p>';".into()),
                Token::End {
                    name: "script".into()
                },
                Token::Text("ok".into()),
            ]
        );
    }

    #[test]
    fn tolerates_junk() {
        assert_eq!(
            tokenize("a < b <> c"),
            vec![Token::Text("a < b <> c".into())]
        );
        assert_eq!(tokenize("<p"), vec![start("p", &[])]);
        assert_eq!(tokenize("x<!-- open"), vec![Token::Text("x".into())]);
        assert_eq!(
            tokenize("<a href='u>v"),
            vec![start("a", &[("href", "u>v")])]
        );
    }

    #[test]
    fn entities() {
        assert_eq!(
            decode_entities("&copy; &#8212; &#x41; &eacute;t&eacute;"),
            "© — A été"
        );
        assert_eq!(
            decode_entities("AT&T &bogus; & &amp &#; &#150;"),
            "AT&T &bogus; & & &#; –"
        );
        assert_eq!(decode_entities("&#x92;&nbsp;"), "’\u{a0}");
    }
}
