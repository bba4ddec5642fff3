//! The minijinja environment, configured the way transformers configures Jinja2 for chat
//! templates (`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)` plus its
//! globals and its `tojson`), and the Python-compatibility layer templates rely on.

use std::cell::Cell;
use std::sync::OnceLock;

use chrono::NaiveDateTime;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Rest, ValueKind, ValueOrKwargs};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior, Value};
use regex::Regex;

use super::py;

/// The name the compiled template is stored under inside its environment.
pub const TEMPLATE: &str = "chat_template";

/// The message a template passed to `raise_exception`, carried as the error's source so it can be
/// told apart from minijinja's own errors.
#[derive(Debug)]
pub struct Raised(pub String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

thread_local! {
    /// "Now" for `strftime_now` during the current render (`None` = the real clock). A
    /// thread-local because the environment is shared and compiled once, while the time is a
    /// per-render option; rendering is synchronous, so the render on this thread is the reader.
    static NOW: Cell<Option<NaiveDateTime>> = const { Cell::new(None) };
}

/// Pins `strftime_now` for the lifetime of the guard (restoring the previous value after, so
/// nested renders behave).
pub struct NowGuard(Option<NaiveDateTime>);

impl NowGuard {
    pub fn set(now: Option<NaiveDateTime>) -> Self {
        NowGuard(NOW.with(|c| c.replace(now)))
    }
}

impl Drop for NowGuard {
    fn drop(&mut self) {
        NOW.with(|c| c.set(self.0));
    }
}

/// Compiles `source` into a fresh environment. Errors are minijinja's syntax errors.
pub fn compile(source: &str) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(false)
        .build()?;
    env.set_syntax(syntax);
    // Jinja2's default Undefined: prints empty, iterates empty, is falsy, and a lookup *on* an
    // undefined value is an error.
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_formatter(|out, _state, value| {
        // Fast path for the overwhelmingly common case.
        if let Some(s) = value.as_str() {
            return out.write_str(s).map_err(Error::from);
        }
        let mut s = String::new();
        py::py_str(&mut s, value);
        out.write_str(&s).map_err(Error::from)
    });
    env.set_unknown_method_callback(python_methods);

    env.add_filter("tojson", tojson);
    env.add_filter("trim", trim);
    env.add_filter("string", string);
    env.add_function("raise_exception", raise_exception);
    env.add_function("strftime_now", strftime_now);

    env.add_template_owned(TEMPLATE, without_generation_tags(source))?;
    Ok(env)
}

/// transformers registers a `{% generation %}…{% endgeneration %}` tag (it marks assistant text
/// for `return_assistant_tokens_mask` and renders its body unchanged). minijinja has no custom
/// tags, so it becomes an always-true `if`, which keeps the tag's whitespace control intact.
fn without_generation_tags(source: &str) -> String {
    static TAG: OnceLock<Regex> = OnceLock::new();
    let tag = TAG.get_or_init(|| {
        Regex::new(r"\{%([-+]?)\s*(end)?generation\s*([-+]?)%\}")
            .expect("the generation-tag pattern is a valid regex")
    });
    if !source.contains("generation") {
        return source.to_string();
    }
    tag.replace_all(source, |c: &regex::Captures<'_>| {
        let body = if c.get(2).is_some() {
            "endif"
        } else {
            "if true"
        };
        format!("{{%{} {} {}%}}", &c[1], body, &c[3])
    })
    .into_owned()
}

/// `raise_exception(msg)`: transformers raises `TemplateError(msg)`.
fn raise_exception(msg: Value) -> Result<Value, Error> {
    let mut text = String::new();
    py::py_str(&mut text, &msg);
    Err(Error::new(ErrorKind::InvalidOperation, text.clone()).with_source(Raised(text)))
}

/// `strftime_now(fmt)`: `datetime.now().strftime(fmt)` in the C locale.
fn strftime_now(fmt: &str) -> Result<Value, Error> {
    use chrono::format::{Item, StrftimeItems};
    let now = NOW
        .with(|c| c.get())
        .unwrap_or_else(|| chrono::Local::now().naive_local());
    let items: Vec<Item<'_>> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime_now: unsupported format {fmt:?}"),
        ));
    }
    Ok(Value::from(
        now.format_with_items(items.into_iter()).to_string(),
    ))
}

/// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`
/// = `json.dumps` with those arguments (no HTML escaping, insertion order, `", "`/`": "`).
fn tojson(value: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    // Python's signature, positionally or by keyword.
    const PARAMS: [&str; 4] = ["ensure_ascii", "indent", "separators", "sort_keys"];
    let mut given: [Option<Value>; 4] = Default::default();
    let mut positional = 0;
    for arg in args.into_values() {
        if arg.is_kwargs() {
            let kwargs = Kwargs::try_from(arg)?;
            for (slot, name) in given.iter_mut().zip(PARAMS) {
                if let Some(v) = kwargs.get::<Option<Value>>(name)? {
                    *slot = Some(v);
                }
            }
            kwargs.assert_all_used()?;
        } else if positional < PARAMS.len() {
            given[positional] = Some(arg);
            positional += 1;
        } else {
            return Err(Error::from(ErrorKind::TooManyArguments));
        }
    }
    let [ensure_ascii, indent, separators, sort_keys] = given;

    let mut opts = py::JsonOptions {
        ensure_ascii: ensure_ascii.is_some_and(|v| v.is_true()),
        sort_keys: sort_keys.is_some_and(|v| v.is_true()),
        ..py::JsonOptions::default()
    };
    match indent {
        Some(v) if v.is_none() || v.is_undefined() => {}
        Some(v) => {
            opts.indent = Some(match v.kind() {
                ValueKind::String => v.as_str().unwrap_or_default().to_string(),
                _ => {
                    let n = v.as_i64().ok_or_else(|| {
                        Error::new(ErrorKind::InvalidOperation, "tojson: indent must be an int")
                    })?;
                    " ".repeat(usize::try_from(n).unwrap_or(0))
                }
            });
            // json.dumps: with an indent, the default item separator drops its space.
            opts.item_sep = ",".into();
        }
        None => {}
    }
    if let Some(seps) = separators.filter(|v| !v.is_none() && !v.is_undefined()) {
        let parts: Vec<Value> = seps.try_iter()?.collect();
        match parts.as_slice() {
            [item, key] if item.as_str().is_some() && key.as_str().is_some() => {
                opts.item_sep = item.as_str().unwrap_or_default().to_string();
                opts.key_sep = key.as_str().unwrap_or_default().to_string();
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "tojson: separators must be two strings",
                ))
            }
        }
    }
    py::json_dumps(value, &opts).map(Value::from)
}

/// Jinja2's `trim`: `str(value).strip(chars)`, Python's whitespace.
fn trim(value: &Value, chars: Option<String>) -> Value {
    let mut s = String::new();
    py::py_str(&mut s, value);
    Value::from(py::strip(&s, chars.as_deref(), true, true))
}

/// Jinja2's `string`: Python's `str()`, so `None`, booleans and containers print as Python does
/// (and an undefined value, as with Jinja2's default Undefined, as the empty string).
fn string(value: &Value) -> Value {
    if value.kind() == ValueKind::String {
        return value.clone();
    }
    let mut s = String::new();
    py::py_str(&mut s, value);
    Value::from(s)
}

/// Python methods on values (`content.strip()`, `tool.items()`, …): minijinja-contrib's
/// pycompat, except where Python's idea of whitespace matters.
fn python_methods(
    state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if let Some(s) = value.as_str() {
        let (left, right) = match method {
            "strip" => (true, true),
            "lstrip" => (true, false),
            "rstrip" => (false, true),
            "isspace" if args.is_empty() => {
                return Ok(Value::from(!s.is_empty() && s.chars().all(py::is_space)))
            }
            "split" if args.is_empty() || (args.len() == 1 && args[0].is_none()) => {
                return Ok(s
                    .split(py::is_space)
                    .filter(|p| !p.is_empty())
                    .map(Value::from)
                    .collect())
            }
            _ => {
                return minijinja_contrib::pycompat::unknown_method_callback(
                    state, value, method, args,
                )
            }
        };
        let chars = match args {
            [] => None,
            [c] if c.is_none() => None,
            [c] => Some(c.as_str().ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{method} arg must be None or str"),
                )
            })?),
            _ => return Err(Error::from(ErrorKind::TooManyArguments)),
        };
        return Ok(Value::from(py::strip(s, chars, left, right)));
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}
