//! Content lines and the component tree: BOM/UTF-8 decoding, unfolding,
//! `NAME;PARAM=V:VALUE` splitting, TEXT escaping, and BEGIN/END nesting
//! with a depth bound. This is the only reader of raw iCalendar text; the
//! `icalendar` crate is not used because it rejects valid files, and our
//! own reader is needed for line-level `strip` anyway.

use super::{Error, Result};

/// Deepest BEGIN nesting accepted (VCALENDAR > VEVENT > VALARM is 3).
pub(crate) const MAX_DEPTH: usize = 20;
/// Longest logical (unfolded) line accepted.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// One parameter of a content line (`TZID=Europe/Berlin`); values unquoted.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Param {
    pub name: String,
    pub values: Vec<String>,
}

/// One property (content line) with its name uppercased and raw value.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Prop {
    pub name: String,
    pub params: Vec<Param>,
    pub value: String,
}

impl Prop {
    /// First value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.values.first())
            .map(String::as_str)
    }
}

/// A component (`BEGIN:X` … `END:X`) with its properties and children.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Component {
    pub name: String,
    pub props: Vec<Prop>,
    pub children: Vec<Component>,
}

impl Component {
    /// First property of that name.
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }
    /// All properties of that name.
    pub fn props<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }
    /// Trimmed value of the first property of that name.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.prop(name).map(|p| p.value.trim())
    }
}

/// Strips a UTF-8 BOM and requires UTF-8.
pub(crate) fn decode(bytes: &[u8]) -> Result<&str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        offset: e.valid_up_to(),
    })
}

/// A logical line: the 1-based number of its first physical line, the
/// unfolded text, and the physical lines it came from.
pub(crate) struct Logical<'a> {
    pub lineno: usize,
    pub text: String,
    pub physical: Vec<&'a str>,
}

/// Unfolds CRLF or LF text: a line starting with a space or tab continues
/// the previous one (the single leading whitespace is removed).
pub(crate) fn unfold(text: &str) -> Vec<Logical<'_>> {
    let mut out: Vec<Logical<'_>> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.text.push_str(rest);
                last.physical.push(line);
                continue;
            }
        }
        out.push(Logical {
            lineno: i + 1,
            text: line.to_string(),
            physical: vec![line],
        });
    }
    while out.last().is_some_and(|l| l.text.trim().is_empty()) {
        out.pop();
    }
    out
}

/// Splits one unfolded content line into name, parameters and value.
pub(crate) fn parse_line(line: &str, lineno: usize) -> Result<Prop> {
    let bad = |reason: &'static str| Error::Syntax {
        line: lineno,
        reason,
    };
    if line.len() > MAX_LINE {
        return Err(bad("line too long"));
    }
    let bytes = line.as_bytes();
    let name_end = bytes
        .iter()
        .position(|&b| b == b';' || b == b':')
        .ok_or_else(|| bad("no colon"))?;
    let name = line[..name_end].trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad("bad property name"));
    }
    let mut params = Vec::new();
    let mut i = name_end;
    while i < bytes.len() && bytes[i] == b';' {
        i += 1;
        let eq = bytes[i..]
            .iter()
            .position(|&b| b == b'=' || b == b':' || b == b';')
            .map(|p| p + i)
            .ok_or_else(|| bad("unterminated parameter"))?;
        let pname = line[i..eq].trim().to_ascii_uppercase();
        if bytes[eq] != b'=' {
            // Parameter without a value (seen in the wild); keep it empty.
            params.push(Param {
                name: pname,
                values: Vec::new(),
            });
            i = eq;
            continue;
        }
        i = eq + 1;
        let mut values = Vec::new();
        loop {
            if i < bytes.len() && bytes[i] == b'"' {
                let close = bytes[i + 1..]
                    .iter()
                    .position(|&b| b == b'"')
                    .map(|p| p + i + 1)
                    .ok_or_else(|| bad("unterminated quote"))?;
                values.push(line[i + 1..close].to_string());
                i = close + 1;
            } else {
                let end = bytes[i..]
                    .iter()
                    .position(|&b| b == b',' || b == b';' || b == b':')
                    .map(|p| p + i)
                    .ok_or_else(|| bad("unterminated parameter"))?;
                values.push(line[i..end].to_string());
                i = end;
            }
            if i < bytes.len() && bytes[i] == b',' {
                i += 1;
                continue;
            }
            break;
        }
        params.push(Param {
            name: pname,
            values,
        });
    }
    if i >= bytes.len() || bytes[i] != b':' {
        return Err(bad("no colon after parameters"));
    }
    Ok(Prop {
        name: name.to_ascii_uppercase(),
        params,
        value: line[i + 1..].to_string(),
    })
}

/// Reads a whole document into its top-level components.
///
/// `strict` turns unparseable lines and content outside components into
/// errors; otherwise they are skipped. Nesting is bounded by [`MAX_DEPTH`].
pub(crate) fn parse_document(bytes: &[u8], strict: bool) -> Result<Vec<Component>> {
    let text = decode(bytes)?;
    let mut top = Vec::new();
    let mut stack: Vec<Component> = Vec::new();
    for logical in unfold(text) {
        let lineno = logical.lineno;
        if logical.text.trim().is_empty() {
            if strict && !stack.is_empty() {
                return Err(Error::Syntax {
                    line: lineno,
                    reason: "empty line",
                });
            }
            continue;
        }
        let prop = match parse_line(&logical.text, lineno) {
            Ok(p) => p,
            Err(e) if strict => return Err(e),
            Err(_) => continue,
        };
        match prop.name.as_str() {
            "BEGIN" => {
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::TooDeep { max: MAX_DEPTH });
                }
                stack.push(Component {
                    name: prop.value.trim().to_ascii_uppercase(),
                    ..Component::default()
                });
            }
            "END" => {
                let name = prop.value.trim().to_ascii_uppercase();
                let Some(done) = stack.pop() else {
                    return Err(Error::Unbalanced {
                        line: lineno,
                        found: name,
                    });
                };
                if done.name != name {
                    return Err(Error::Unbalanced {
                        line: lineno,
                        found: name,
                    });
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => top.push(done),
                }
            }
            _ => match stack.last_mut() {
                Some(c) => c.props.push(prop),
                None if strict => {
                    return Err(Error::Syntax {
                        line: lineno,
                        reason: "property outside a component",
                    })
                }
                None => {}
            },
        }
    }
    if let Some(open) = stack.last() {
        return Err(Error::Unclosed {
            component: open.name.clone(),
        });
    }
    Ok(top)
}

/// Unescapes a TEXT value (`\n`, `\,`, `\;`, `\\`).
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes a TEXT value for writing.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            o => out.push(o),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfold_joins_continuation_lines() {
        let l = unfold("SUMMARY:a\r\n b\r\n\tc\r\nX:1\r\n");
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].text, "SUMMARY:abc");
    }

    #[test]
    fn parse_line_handles_quoted_params() {
        let p = parse_line("ATTENDEE;CN=\"Doe; J:x\";PARTSTAT=ACCEPTED:mailto:a@b", 1).unwrap();
        assert_eq!(p.param("cn"), Some("Doe; J:x"));
        assert_eq!(p.param("PARTSTAT"), Some("ACCEPTED"));
        assert_eq!(p.value, "mailto:a@b");
    }

    #[test]
    fn nesting_beyond_limit_is_rejected() {
        let mut s = String::new();
        for _ in 0..30 {
            s.push_str("BEGIN:X\r\n");
        }
        assert!(matches!(
            parse_document(s.as_bytes(), false),
            Err(Error::TooDeep { .. })
        ));
    }

    #[test]
    fn bom_is_stripped() {
        let c = parse_document(b"\xEF\xBB\xBFBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", true).unwrap();
        assert_eq!(c[0].name, "VCALENDAR");
    }
}
