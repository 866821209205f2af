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
            return with_unknown_field(path, strip_position(tail));
        }
    }
    with_unknown_field(outer, strip_position(&msg))
}

/// serde reports an unknown field inside a tagged enum at the enum's path; put the field's own
/// name on the path, as it is for plain structs (`init.stdd: unknown field ...`).
fn with_unknown_field(path: String, msg: String) -> JobError {
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

/// serde_json appends " at line L column C" to messages from values; drop it when the path
/// already says where.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}
