//! The engine's error type, at the crate root so that every layer can return it.

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The job asks for something invalid (a missing .npy file, a bad plugin): exit status 2.
    #[error("{0}")]
    Input(String),
    /// Something failed while running: exit status 1.
    #[error("{0}")]
    Runtime(String),
}
