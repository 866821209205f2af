//! A complete ufm optimiser plugin in safe Rust: heavy-ball momentum whose gradient entries are
//! clipped to [-clip, clip]. Build: `cargo build --release -p ufm-plugin-example-rust`, then
//! `"optimizer": {"plugin": "target/release/libufm_plugin_example_rust.so",
//!                "id": "example.clipped_momentum", "lr": 0.1, "params": {"momentum": 0.9}}`.

use serde::Deserialize;
use ufm_plugin_sdk::{elementwise, export_plugin, parse_params, MatMut, MatRef, Optimizer};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClippedMomentum {
    momentum: f64,
    #[serde(default = "f64::default")]
    clip: f64,
}

impl Optimizer for ClippedMomentum {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let c: Self = parse_params(params)?;
        if !(0.0..1.0).contains(&c.momentum) {
            return Err(format!(
                "params.momentum: must be in [0, 1), got {}",
                c.momentum
            ));
        }
        Ok(c)
    }
    fn state_len(&self, rows: usize, cols: usize) -> usize {
        rows * cols
    }
    fn update(
        &self,
        _step: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        let (mu, clip) = (
            self.momentum,
            if self.clip > 0.0 {
                self.clip
            } else {
                f64::INFINITY
            },
        );
        elementwise::<1>(p, g, s, |p, g, [v]| {
            *v = mu * *v + g.clamp(-clip, clip);
            *p -= lr * *v;
        })
    }
}

/// Panics at step `at` (for ufm's tests: a panic must end the run, not the process).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanicsAt {
    at: u64,
}

impl Optimizer for PanicsAt {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        parse_params(params)
    }
    fn state_len(&self, _rows: usize, _cols: usize) -> usize {
        0
    }
    fn update(
        &self,
        step: u64,
        lr: f64,
        p: MatMut<'_>,
        g: MatRef<'_>,
        s: &mut [f64],
    ) -> Result<(), String> {
        assert!(step < self.at, "reached step {step}");
        elementwise::<0>(p, g, s, |p, g, _| *p -= lr * g)
    }
}

export_plugin!(
    name: "ufm example: clipped momentum (Rust SDK)",
    optimizers: [
        "example.clipped_momentum" => ClippedMomentum,
        "example.panics_at" => PanicsAt,
    ],
    initializers: [],
);
