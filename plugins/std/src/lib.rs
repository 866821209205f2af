//! The optimisers and initialisers that ship with ufm. This one crate is both a plugin library
//! (`libufm_plugin_std.so`, loadable by path) and an rlib the engine links for its built-ins, so
//! `{"name": "adam"}` and `{"plugin": ".../libufm_plugin_std.so", "id": "adam"}` run the same code
//! through the same vtables.
//!
//! Host-side (not here): the learning rate and its schedule, `sgd`'s mini-batches, the
//! initialisers' seed and multiplier, and the model-wide `dnc` / `low_rank` / `npy` starts.

pub mod init;
pub mod optim;

use init::{Gaussian, Orthogonal, Scaled};
use optim::{Adam, AdamW, Gd, Momentum, Nesterov};

ufm_plugin_sdk::export_plugin!(
    name: "ufm-plugin-std",
    optimizers: [
        "gd" => Gd,
        "sgd" => Gd,
        "momentum" => Momentum,
        "nesterov" => Nesterov,
        "adam" => Adam,
        "adamw" => AdamW,
    ],
    initializers: [
        "gaussian" => Gaussian,
        "scaled" => Scaled,
        "orthogonal" => Orthogonal,
    ],
);
