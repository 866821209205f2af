//! The engine's one error type, at the bottom layer so that every layer can return it.
//!
//! Callers decide what to do from the [`ErrorKind`] ([`Error::kind`]), never from the message:
//! the CLI's exit status (`engine/src/bin/cli/exit.rs`) and the C API's status (`ffi/src`) are
//! each one `match` on it. Messages stay what the user reads: they name the field, argument,
//! file or plugin and the allowed range.

use std::fmt;
use std::path::{Path, PathBuf};

/// A job that cannot be run, with the path of the field at fault (`model.width`, `sweep...`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct JobError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl JobError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        JobError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Why an engine call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A job field is invalid; the [`JobError`] names it by its dotted path.
    #[error(transparent)]
    Job(#[from] JobError),
    /// Other invalid input: a command-line argument, an input file (an `.npy` start, a data
    /// file, an activation export) or an option that is out of range.
    #[error("{0}")]
    Input(String),
    /// A plugin could not be loaded, lacks the id asked for, or refused its params.
    #[error("{message}")]
    Plugin {
        /// The library as the job names it (or `ufm-plugin-std (built in)`).
        library: String,
        /// The optimiser or initialiser id, when the failure concerns one.
        id: Option<String>,
        /// The status code the plugin returned, when it returned one.
        code: Option<i32>,
        /// What the plugin itself wrote (its error buffer), when it wrote anything; the whole
        /// message otherwise.
        detail: String,
        /// The full message (names the library, the id and what went wrong).
        message: String,
    },
    /// A loaded plugin's optimiser or initialiser failed while in use: a nonzero status from
    /// `update`, `stage`, `control`, `fill`, `state_len` or `init_state`, or a value out of its
    /// contract. Its kind is [`ErrorKind::Runtime`]: the library loaded and accepted its params
    /// (what [`Error::Plugin`] covers), so the failure belongs to the run, as any other
    /// run-time failure (exit status 1, `UFM_STATUS_RUNTIME`; a run records it as `failed`).
    #[error("{message}")]
    PluginCall {
        /// The library as the job names it (or `built-in (ufm-plugin-std)`).
        library: String,
        /// The optimiser or initialiser id.
        id: String,
        /// The status code the plugin returned, when it returned one.
        code: Option<i32>,
        /// The full message (names the library, the id, the call and the plugin's words).
        message: String,
    },
    /// An argument of a call is out of range: a parameter of a library function (the theory
    /// reports' `classes`, `lambda`, ...) as the caller passed it. `name` is the argument as the
    /// engine spells it, so the CLI can show its flag (`--classes`) and the C API its parameter
    /// without reading the message.
    #[error("{name}: {message}")]
    Argument { name: String, message: String },
    /// A size over a limit (memory, sweep points, file size).
    #[error("{0}")]
    Limit(String),
    /// A file could not be written (or an output folder created).
    #[error("{message}")]
    Io { path: PathBuf, message: String },
    /// A numerical procedure failed (non-finite values, no convergence).
    #[error("{0}")]
    Numerical(String),
    /// Any other failure while running.
    #[error("{0}")]
    Runtime(String),
    /// The command ran and wrote its files, but its run ended `diverged` or `failed`.
    #[error("{0}")]
    RunEnded(String),
    /// The command was cancelled (a signal or a cancel callback) after writing what was done.
    #[error("{0}")]
    Cancelled(String),
    /// `source` happened while handling `file` (a job file): the message starts with it.
    #[error("{}: {source}", file.display())]
    InFile {
        file: PathBuf,
        #[source]
        source: Box<Error>,
    },
}

/// What kind of failure an [`Error`] is (what the CLI's exit status and the C status follow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    Job,
    Input,
    Plugin,
    Argument,
    Limit,
    Io,
    Numerical,
    Runtime,
    RunEnded,
    Cancelled,
}

impl Error {
    /// The kind (for [`Error::InFile`], the kind of the error inside).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Job(_) => ErrorKind::Job,
            Error::Input(_) => ErrorKind::Input,
            Error::Plugin { .. } => ErrorKind::Plugin,
            Error::Argument { .. } => ErrorKind::Argument,
            Error::Limit(_) => ErrorKind::Limit,
            Error::Io { .. } => ErrorKind::Io,
            Error::Numerical(_) => ErrorKind::Numerical,
            Error::Runtime(_) | Error::PluginCall { .. } => ErrorKind::Runtime,
            Error::RunEnded(_) => ErrorKind::RunEnded,
            Error::Cancelled(_) => ErrorKind::Cancelled,
            Error::InFile { source, .. } => source.kind(),
        }
    }

    /// A failed write of `path`: "cannot write PATH: cause".
    pub fn write(path: &Path, cause: impl fmt::Display) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            message: format!("cannot write {}: {cause}", path.display()),
        }
    }

    /// An I/O failure at `path` with a message of the caller's wording.
    pub fn io(path: &Path, message: impl Into<String>) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// Prefix the message of an input error (a job field, an input file, a plugin) with the
    /// job file it came from; run-time errors are left as they are (their message already
    /// names what failed).
    pub fn in_file(self, file: &Path) -> Error {
        match self.kind() {
            ErrorKind::Job
            | ErrorKind::Input
            | ErrorKind::Plugin
            | ErrorKind::Argument
            | ErrorKind::Limit => Error::InFile {
                file: file.to_path_buf(),
                source: Box::new(self),
            },
            _ => self,
        }
    }

    /// Prefix the message with `context` ("context: message"), keeping the kind.
    pub fn context(self, context: &str) -> Error {
        let pre = |m: String| format!("{context}: {m}");
        match self {
            Error::Job(j) => Error::Job(JobError::new(context, j.to_string())),
            Error::Input(m) => Error::Input(pre(m)),
            Error::Plugin {
                library,
                id,
                code,
                detail,
                message,
            } => Error::Plugin {
                library,
                id,
                code,
                detail,
                message: pre(message),
            },
            Error::PluginCall {
                library,
                id,
                code,
                message,
            } => Error::PluginCall {
                library,
                id,
                code,
                message: pre(message),
            },
            Error::Argument { name, message } => Error::Argument {
                name: pre(name),
                message,
            },
            Error::Limit(m) => Error::Limit(pre(m)),
            Error::Io { path, message } => Error::Io {
                path,
                message: pre(message),
            },
            Error::Numerical(m) => Error::Numerical(pre(m)),
            Error::Runtime(m) => Error::Runtime(pre(m)),
            Error::RunEnded(m) => Error::RunEnded(pre(m)),
            Error::Cancelled(m) => Error::Cancelled(pre(m)),
            // The file stays first (it is what the user opens); the context goes between it and
            // the inner message, and the inner error keeps deciding the kind.
            Error::InFile { file, source } => Error::InFile {
                file,
                source: Box::new(source.context(context)),
            },
        }
    }
}

impl Error {
    /// An out-of-range argument `name` (see [`Error::Argument`]).
    pub fn argument(name: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Argument {
            name: name.into(),
            message: message.into(),
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_file_prefixes_input_errors_and_keeps_their_kind() {
        let e = Error::Job(JobError::new("model.width", "must be >= 1, got 0"))
            .in_file(Path::new("job.json"));
        assert_eq!(e.kind(), ErrorKind::Job);
        assert_eq!(e.to_string(), "job.json: model.width: must be >= 1, got 0");
        let r = Error::Runtime("disk full".into()).in_file(Path::new("job.json"));
        assert_eq!(r.to_string(), "disk full");
        assert_eq!(r.kind(), ErrorKind::Runtime);
    }

    #[test]
    fn context_keeps_the_kind() {
        let e = Error::Input("no such file".into()).context("init.dir");
        assert_eq!(e.kind(), ErrorKind::Input);
        assert_eq!(e.to_string(), "init.dir: no such file");
    }

    #[test]
    fn context_on_an_in_file_error_keeps_the_inner_kind() {
        let e = Error::Job(JobError::new("model.width", "must be >= 1, got 0"))
            .in_file(Path::new("job.json"))
            .context("sweep point 3");
        assert_eq!(e.kind(), ErrorKind::Job);
        assert_eq!(
            e.to_string(),
            "job.json: sweep point 3: model.width: must be >= 1, got 0"
        );
    }
}
