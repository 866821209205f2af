//! The optimisers and initialisers that ship with ufm: the rlib the engine links for its
//! built-ins. The loadable plugin library `libufm_plugin_std.so` is the thin cdylib
//! `plugins/std-so` around this crate's [`plugin_entry`], so `{"name": "adam"}` and
//! `{"plugin": ".../libufm_plugin_std.so", "id": "adam"}` run the same code through the same
//! vtables. This crate itself exports no C symbol: libufm links it, and its exports must be
//! exactly the functions of `include/ufm.h`.
//!
//! Host-side (not here): the learning rate and its schedule, `sgd`'s mini-batches, the
//! initialisers' seed and multiplier, and the model-wide `dnc` / `low_rank` / `npy` starts.

pub mod flow;
pub mod init;
pub mod optim;

use init::{Gaussian, Orthogonal, Scaled};
use optim::{Adam, AdamW, Gd, Momentum, Nesterov};

ufm_plugin_sdk::plugin_entry!(
    name: "ufm-plugin-std",
    optimizers: [
        "gd" => Gd,
        "sgd" => Gd,
        "momentum" => Momentum,
        "nesterov" => Nesterov,
        "adam" => Adam,
        "adamw" => AdamW,
        "flow" => flow::Flow,
    ],
    initializers: [
        "gaussian" => Gaussian,
        "scaled" => Scaled,
        "orthogonal" => Orthogonal,
    ],
);
