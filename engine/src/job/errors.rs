//! Job errors that name the offending field by its dotted path.

pub use crate::error::JobError;

/// Marker that carries a nested path through serde's string-only custom errors.
const NESTED: char = '\u{1}';

/// Encode an inner serde_path_to_error failure so that [`from_serde`] can join the paths.
pub(super) fn nested(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let inner = e.path().to_string();
    if inner == "." {
        e.inner().to_string()
    } else {
        format!("{NESTED}{inner}{NESTED}{}", e.inner())
    }
}

/// Encode an inner serde_path_to_error failure of the value of field `field`.
pub(super) fn nested_under(
    field: &str,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> String {
    let inner = e.path().to_string();
    if inner == "." {
        nested_message(field, &e.inner().to_string())
    } else {
        format!("{NESTED}{field}.{inner}{NESTED}{}", e.inner())
    }
}

/// Encode a message about field `field` of the value being deserialised.
pub(super) fn nested_message(field: &str, msg: &str) -> String {
    format!("{NESTED}{field}{NESTED}{msg}")
}

/// Turn a top-level serde_path_to_error failure into a JobError with the full dotted path.
/// The marker [`NESTED`] is this module's own encoding (see [`nested`]), carried through
/// serde's string-only custom errors; serde's own words are then translated by
/// [`serde_words`].
pub(super) fn from_serde(e: serde_path_to_error::Error<serde_json::Error>) -> JobError {
    let outer = e.path().to_string();
    let msg = e.inner().to_string();
    if let Some(rest) = msg.strip_prefix(NESTED) {
        if let Some((inner, tail)) = rest.split_once(NESTED) {
            let path = if outer == "." {
                inner.to_string()
            } else {
                format!("{outer}.{inner}")
            };
            return serde_words(path, tail);
        }
    }
    serde_words(outer, &msg)
}

/// The one place that reads serde's message text, to say it in a job author's words.
///
/// Why it is unavoidable: a `serde_json::Error` carries only a category, a line and a column;
/// the name of an unknown field and the type a value should have exist only in its Display
/// text (`unknown field `stdd`, expected one of ...`, `invalid type: ..., expected f64 at line
/// 1 column 9`). This function (1) puts an unknown field's name on the path when serde
/// reported it at the enclosing object's path (a tagged section: `init.stdd`, as for plain
/// structs), (2) drops serde_json's ` at line L column C` (the path already says where) and
/// (3) names JSON values instead of Rust types ([`plain_types`]).
///
/// Nothing is decided from it: the caller has already made the failure a [`JobError`] (kind
/// Job, exit status 2, `UFM_STATUS_INVALID_JOB`); only the path and message shown change.
fn serde_words(path: String, msg: &str) -> JobError {
    let msg = match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => &msg[..i],
        _ => msg,
    };
    let msg = plain_types(msg);
    let field = msg
        .strip_prefix("unknown field `")
        .and_then(|r| r.split_once('`'))
        .map(|(f, _)| f.to_string());
    match field {
        Some(f) if !path.ends_with(&f) => {
            let path = if path == "." || path.is_empty() {
                f
            } else {
                format!("{path}.{f}")
            };
            JobError::new(path, msg)
        }
        _ => JobError::new(path, msg),
    }
}

/// serde names Rust types in its messages (`invalid value: integer `-4`, expected usize`); a job
/// file's author knows JSON, so say what JSON value is wanted instead (part of
/// [`serde_words`]).
fn plain_types(msg: &str) -> String {
    const PLAIN: &[(&str, &str)] = &[
        ("usize", "a non-negative integer"),
        ("u64", "a non-negative integer"),
        ("u32", "a non-negative integer"),
        ("u16", "a non-negative integer"),
        ("u8", "a non-negative integer"),
        ("isize", "an integer"),
        ("i64", "an integer"),
        ("i32", "an integer"),
        ("f64", "a number"),
        ("f32", "a number"),
    ];
    let mut out = msg.to_string();
    for (rust, json) in PLAIN {
        let from = format!("expected {rust}");
        let mut at = 0;
        while let Some(i) = out[at..].find(&from).map(|i| i + at) {
            let end = i + from.len();
            if out[end..].starts_with(|c: char| c.is_alphanumeric() || c == '_') {
                at = end;
                continue;
            }
            out.replace_range(i..end, &format!("expected {json}"));
            at = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_rust_type_names_become_json_words() {
        assert_eq!(
            plain_types("invalid value: integer `-4`, expected usize"),
            "invalid value: integer `-4`, expected a non-negative integer"
        );
        assert_eq!(
            plain_types("invalid type: string \"x\", expected f64"),
            "invalid type: string \"x\", expected a number"
        );
        // Only whole type names: `u8x` or `usize_like` stay as they are.
        assert_eq!(plain_types("expected u8x"), "expected u8x");
        assert_eq!(plain_types("expected usize_like"), "expected usize_like");
    }

    #[test]
    fn job_file_errors_name_no_rust_types() {
        for (classes, lambda, want) in [
            ("-4", "0.01", "model.classes: invalid value: integer `-4`, expected a non-negative integer"),
            ("4.5", "0.01", "model.classes: invalid type: floating point `4.5`, expected a non-negative integer"),
            ("4", "\"x\"", "model.lambda: invalid type: string \"x\", expected a number"),
        ] {
            let text = format!(
                r#"{{"schema_version":1,"name":"t","model":{{"classes":{classes},"per_class":2,"width":6,"layers":2,"lambda":{lambda}}}}}"#
            );
            let e = crate::job::parse_job(&text).expect_err("refused").to_string();
            assert_eq!(e, want, "{text}");
        }
    }
}
