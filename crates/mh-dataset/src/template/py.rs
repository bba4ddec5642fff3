//! Python's spelling of values, where chat templates can see the difference: `json.dumps` (the
//! `tojson` filter transformers installs), `str()` / `repr()` (printing, `|string`) and
//! `str.isspace()` (`|trim`, `.strip()`).

use std::fmt::Write as _;

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, Value};

/// Python's `str.isspace()` for one character: Rust's `White_Space` plus U+001C..U+001F, which
/// Python counts as whitespace (they are line/record separators to it) and Rust does not.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// `str.strip(chars)` / `lstrip` / `rstrip`: without `chars`, Python whitespace.
pub fn strip<'a>(s: &'a str, chars: Option<&str>, left: bool, right: bool) -> &'a str {
    let strip_char = |c: char| match chars {
        Some(set) => set.contains(c),
        None => is_space(c),
    };
    let s = if left {
        s.trim_start_matches(strip_char)
    } else {
        s
    };
    if right {
        s.trim_end_matches(strip_char)
    } else {
        s
    }
}

/// Options of `json.dumps` that templates pass through `tojson(...)`.
#[derive(Debug, Clone)]
pub struct JsonOptions {
    /// `None` = compact (one line); `Some(unit)` = pretty, `unit` per level.
    pub indent: Option<String>,
    pub item_sep: String,
    pub key_sep: String,
    pub ensure_ascii: bool,
    pub sort_keys: bool,
}

impl Default for JsonOptions {
    /// transformers' override: `json.dumps(x, ensure_ascii=False)`.
    fn default() -> Self {
        Self {
            indent: None,
            item_sep: ", ".into(),
            key_sep: ": ".into(),
            ensure_ascii: false,
            sort_keys: false,
        }
    }
}

/// `json.dumps(value, **opts)`.
pub fn json_dumps(value: &Value, opts: &JsonOptions) -> Result<String, Error> {
    let mut out = String::new();
    write_json(&mut out, value, opts, 0)?;
    Ok(out)
}

fn write_json(out: &mut String, v: &Value, opts: &JsonOptions, depth: usize) -> Result<(), Error> {
    match v.kind() {
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => write_number(out, v, true),
        ValueKind::String | ValueKind::Bytes => {
            let s = v.as_str().unwrap_or_default();
            write_json_str(out, s, opts.ensure_ascii);
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter()?.collect();
            write_container(out, opts, depth, '[', ']', &items, |out, item, d| {
                write_json(out, item, opts, d)
            })?;
        }
        ValueKind::Map => {
            let mut entries = Vec::new();
            for key in v.try_iter()? {
                let value = v.get_item(&key)?;
                entries.push((json_key(&key)?, value));
            }
            if opts.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            write_container(out, opts, depth, '{', '}', &entries, |out, (k, val), d| {
                write_json_str(out, k, opts.ensure_ascii);
                out.push_str(&opts.key_sep);
                write_json(out, val, opts, d)
            })?;
        }
        kind => {
            // json.dumps raises TypeError for Undefined, namespace(), functions, ...
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("Object of type {kind} is not JSON serializable"),
            ));
        }
    }
    Ok(())
}

/// Python's json.JSONEncoder layout: `[]`/`{}` stay empty; with an indent every item goes on
/// its own line and the item separator loses nothing (`","` is what dumps uses then).
fn write_container<T>(
    out: &mut String,
    opts: &JsonOptions,
    depth: usize,
    open: char,
    close: char,
    items: &[T],
    mut each: impl FnMut(&mut String, &T, usize) -> Result<(), Error>,
) -> Result<(), Error> {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return Ok(());
    }
    let newline = |out: &mut String, level: usize| {
        if let Some(unit) = &opts.indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(unit);
            }
        }
    };
    newline(out, depth + 1);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(&opts.item_sep);
            newline(out, depth + 1);
        }
        each(out, item, depth + 1)?;
    }
    newline(out, depth);
    out.push(close);
    Ok(())
}

/// `json.dumps` turns str/int/float/bool/None keys into strings; anything else is a TypeError.
fn json_key(key: &Value) -> Result<String, Error> {
    Ok(match key.kind() {
        ValueKind::String => key.as_str().unwrap_or_default().to_string(),
        ValueKind::None => "null".into(),
        ValueKind::Bool => (if key.is_true() { "true" } else { "false" }).into(),
        ValueKind::Number => {
            let mut s = String::new();
            write_number(&mut s, key, true);
            s
        }
        kind => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("keys must be str, int, float, bool or None, not {kind}"),
            ))
        }
    })
}

/// Integers as decimal; floats as Python's `repr(float)`. `json` spells the non-finite values
/// `NaN`/`Infinity`, `repr` spells them `nan`/`inf`.
fn write_number(out: &mut String, v: &Value, json: bool) {
    if v.is_integer() {
        let _ = write!(out, "{v}");
        return;
    }
    let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
    out.push_str(&float_repr(f, json));
}

/// Python's `repr(float)`: the shortest round-tripping digits, positional when the decimal
/// exponent is in -4..16, else `d.ddde+XX`; always a `.0` on integral positional values.
pub fn float_repr(f: f64, json: bool) -> String {
    if f.is_nan() {
        return (if json { "NaN" } else { "nan" }).into();
    }
    if f.is_infinite() {
        let s = if json { "Infinity" } else { "inf" };
        return if f < 0.0 { format!("-{s}") } else { s.into() };
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-trip digits, like Python's repr.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            let (a, b) = digits.split_at(point as usize);
            format!("{a}.{b}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

/// A JSON string literal as Python's encoder writes it (lower-case `\u00XX` escapes; with
/// `ensure_ascii` also every non-ASCII character and DEL, as UTF-16 code units).
fn write_json_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !(' '..='~').contains(&c)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python's `str(value)` as Jinja2 prints it: strings as they are, `None`/`True`/`False`,
/// Python floats, containers as their `repr`. Undefined prints as nothing.
pub fn py_str(out: &mut String, v: &Value) {
    match v.kind() {
        ValueKind::Undefined => {}
        ValueKind::String | ValueKind::Bytes => out.push_str(v.as_str().unwrap_or_default()),
        ValueKind::None | ValueKind::Bool | ValueKind::Number | ValueKind::Seq | ValueKind::Map => {
            py_repr(out, v)
        }
        _ => {
            let _ = write!(out, "{v}");
        }
    }
}

/// Python's `repr(value)` for the JSON-like values templates handle.
fn py_repr(out: &mut String, v: &Value) {
    match v.kind() {
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number => write_number(out, v, false),
        ValueKind::String | ValueKind::Bytes => py_repr_str(out, v.as_str().unwrap_or_default()),
        ValueKind::Seq => {
            out.push('[');
            if let Ok(items) = v.try_iter() {
                for (i, item) in items.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    py_repr(out, &item);
                }
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            if let Ok(keys) = v.try_iter() {
                for (i, key) in keys.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    py_repr(out, &key);
                    out.push_str(": ");
                    py_repr(out, &v.get_item(&key).unwrap_or_default());
                }
            }
            out.push('}');
        }
        _ => {
            let _ = write!(out, "{v}");
        }
    }
}

/// `repr(str)`: single quotes unless the text has a `'` and no `"`; escapes for the quote,
/// backslash and non-printable characters (approximated as control and separator characters).
fn py_repr_str(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || (c != ' ' && is_space(c)) => {
                let n = c as u32;
                let _ = if n <= 0xff {
                    write!(out, "\\x{n:02x}")
                } else if n <= 0xffff {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_repr_matches_python() {
        for (f, want) in [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.2345e-7, "1.2345e-07"),
            (123.456, "123.456"),
            (-0.0, "-0.0"),
            (1e300, "1e+300"),
        ] {
            assert_eq!(float_repr(f, true), want, "{f}");
        }
        assert_eq!(float_repr(f64::NAN, true), "NaN");
        assert_eq!(float_repr(f64::NEG_INFINITY, false), "-inf");
    }

    #[test]
    fn json_dumps_matches_python() {
        let v = Value::from(minijinja::value::Serde(serde_json::json!({
            "b": [1, 2.5, "x\u{1}\"é"], "a": {}, "c": [], "d": null, "e": true
        })));
        let compact = json_dumps(&v, &JsonOptions::default()).unwrap();
        assert_eq!(
            compact,
            r#"{"b": [1, 2.5, "x\u0001\"é"], "a": {}, "c": [], "d": null, "e": true}"#
        );
        let pretty = JsonOptions {
            indent: Some("  ".into()),
            item_sep: ",".into(),
            ensure_ascii: true,
            sort_keys: true,
            ..JsonOptions::default()
        };
        assert_eq!(
            json_dumps(&v, &pretty).unwrap(),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2.5,\n    \"x\\u0001\\\"\\u00e9\"\n  ],\n  \"c\": [],\n  \"d\": null,\n  \"e\": true\n}"
        );
    }

    #[test]
    fn strip_uses_python_whitespace() {
        assert_eq!(strip("\u{1c} a\u{3000}\u{a0}", None, true, true), "a");
        assert_eq!(strip("\n\nx\n", Some("\n"), true, false), "x\n");
    }

    #[test]
    fn str_and_repr() {
        let mut s = String::new();
        py_str(
            &mut s,
            &Value::from(minijinja::value::Serde(
                serde_json::json!([null, true, 1.0, "it's", {"k": "v"}]),
            )),
        );
        assert_eq!(s, r#"[None, True, 1.0, "it's", {'k': 'v'}]"#);
    }
}
