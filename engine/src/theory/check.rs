//! The one check of a closed-form model (K, n, L, lambda), shared by the theory reports, the
//! `ufm theory` command and the C API, so that the three cannot drift apart.
//!
//! Each caller names the arguments its own way (`per-class` in the reports, `--per-class` on the
//! command line, `per_class` in C), so the error says which argument failed and the rule it broke,
//! and the caller puts its own name in front ([`ModelError::named`]).

use std::fmt;

/// An argument of a closed-form model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelArg {
    /// K, the number of classes (>= 2).
    Classes,
    /// n, the samples per class (>= 1).
    PerClass,
    /// L, the number of weight matrices (>= 1).
    Layers,
    /// lambda (finite and > 0).
    Lambda,
}

impl ModelArg {
    /// The name in the reports' messages (and, with `--`, the command-line flag).
    pub fn name(self) -> &'static str {
        match self {
            ModelArg::Classes => "classes",
            ModelArg::PerClass => "per-class",
            ModelArg::Layers => "layers",
            ModelArg::Lambda => "lambda",
        }
    }
}

/// Which argument is out of range, and the rule with the value given (`must be >= 2, got 1`).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelError {
    pub arg: ModelArg,
    pub rule: String,
}

impl ModelError {
    /// The message with the caller's name for the argument: `{name}: {rule}`.
    pub fn named(&self, name: &str) -> String {
        format!("{name}: {}", self.rule)
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.arg.name(), self.rule)
    }
}

impl std::error::Error for ModelError {}

/// A bad model argument of a theory function is an argument error of the one error type (exit
/// status 2, `UFM_STATUS_INVALID_ARGUMENT`), named as the reports name it.
impl From<ModelError> for crate::Error {
    fn from(e: ModelError) -> crate::Error {
        crate::Error::argument(e.arg.name(), e.rule)
    }
}

impl From<ModelError> for String {
    fn from(e: ModelError) -> String {
        e.to_string()
    }
}

/// K >= 2, n >= 1, L >= 1, lambda finite and > 0: the domain of every closed form.
pub fn check_model(k: usize, n: usize, layers: usize, lambda: f64) -> Result<(), ModelError> {
    let err = |arg, rule: String| Err(ModelError { arg, rule });
    if k < 2 {
        return err(ModelArg::Classes, format!("must be >= 2, got {k}"));
    }
    if n < 1 {
        return err(ModelArg::PerClass, "must be >= 1, got 0".into());
    }
    if layers < 1 {
        return err(ModelArg::Layers, "must be >= 1, got 0".into());
    }
    if !(lambda.is_finite() && lambda > 0.0) {
        return err(
            ModelArg::Lambda,
            format!("must be finite and > 0, got {lambda}"),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_argument_is_named_with_its_rule() {
        assert_eq!(check_model(2, 1, 1, 1e-3), Ok(()));
        for (args, arg, text) in [
            (
                (1, 5, 2, 0.1),
                ModelArg::Classes,
                "classes: must be >= 2, got 1",
            ),
            (
                (10, 0, 2, 0.1),
                ModelArg::PerClass,
                "per-class: must be >= 1, got 0",
            ),
            (
                (10, 5, 0, 0.1),
                ModelArg::Layers,
                "layers: must be >= 1, got 0",
            ),
            (
                (10, 5, 2, 0.0),
                ModelArg::Lambda,
                "lambda: must be finite and > 0, got 0",
            ),
            (
                (10, 5, 2, f64::NAN),
                ModelArg::Lambda,
                "lambda: must be finite and > 0, got NaN",
            ),
        ] {
            let e = check_model(args.0, args.1, args.2, args.3).unwrap_err();
            assert_eq!((e.arg, e.to_string()), (arg, text.to_string()));
        }
        let e = check_model(10, 0, 2, 0.1).unwrap_err();
        assert_eq!(e.named("per_class"), "per_class: must be >= 1, got 0");
    }
}
