//! Tokenizer for the XDR dialect.

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Ident(String),
    Number(i64),
    /// `@name` or `@name(arg)`.
    Annotation(String, Option<String>),
    Punct(char),
}

/// A token with the line it starts on.
#[derive(Debug, Clone)]
pub struct Spanned {
    pub token: Token,
    pub line: usize,
}

pub fn tokenize(text: &str) -> Result<Vec<Spanned>, (usize, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut at_line_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\n' {
            line += 1;
            i += 1;
            at_line_start = true;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if at_line_start && c == b'%' {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        at_line_start = false;
        if text[i..].starts_with("/*") {
            let end = text[i + 2..]
                .find("*/")
                .ok_or((line, "unterminated comment".to_string()))?;
            line += text[i..i + 2 + end].matches('\n').count();
            i += end + 4;
            continue;
        }
        if text[i..].starts_with("//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        if c.is_ascii_alphabetic() || c == b'_' || c == b'@' {
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            let token = if let Some(name) = word.strip_prefix('@') {
                let mut arg = None;
                if bytes.get(i) == Some(&b'(') {
                    let close = text[i..]
                        .find(')')
                        .ok_or((line, format!("unterminated annotation {word}")))?;
                    arg = Some(text[i + 1..i + close].trim().to_string());
                    i += close + 1;
                }
                Token::Annotation(name.to_string(), arg)
            } else {
                Token::Ident(word.to_string())
            };
            out.push(Spanned { token, line });
            continue;
        }
        if c.is_ascii_digit() || (c == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let lit = &text[start..i];
            let (neg, digits) = match lit.strip_prefix('-') {
                Some(d) => (true, d),
                None => (false, lit),
            };
            let value =
                if let Some(hex) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
                    i64::from_str_radix(hex, 16)
                } else {
                    digits.parse::<i64>()
                }
                .map_err(|_| (line, format!("bad number {lit}")))?;
            out.push(Spanned {
                token: Token::Number(if neg { -value } else { value }),
                line,
            });
            continue;
        }
        if b"{}()[]<>;:,=*".contains(&c) {
            out.push(Spanned {
                token: Token::Punct(c as char),
                line,
            });
            i += 1;
            continue;
        }
        return Err((line, format!("unexpected character {:?}", c as char)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_numbers_annotations_and_comments() {
        let toks =
            tokenize("/* x\n y */ const A = 0x20; // c\n@object(domain) @ro -1\n%pass\n").unwrap();
        let kinds: Vec<_> = toks.iter().map(|t| t.token.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                Token::Ident("const".into()),
                Token::Ident("A".into()),
                Token::Punct('='),
                Token::Number(32),
                Token::Punct(';'),
                Token::Annotation("object".into(), Some("domain".into())),
                Token::Annotation("ro".into(), None),
                Token::Number(-1),
            ]
        );
        assert_eq!(toks[5].line, 3);
    }
}
