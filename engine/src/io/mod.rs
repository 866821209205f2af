//! Bytes on disk, below every other layer: `.npy` matrices ([`npy`]), atomic file and folder
//! writes ([`write_atomic`], [`replace_dir`]). Nothing here knows about jobs, runs or models, so
//! any layer (init, train's checkpoints, report, sweep) can use it without pointing upwards.

mod atomic;
pub mod json_float;
pub mod npy;

pub use atomic::{replace_dir, write_atomic};
