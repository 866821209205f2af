//! Checkpoints: a run's parameters, optimiser state, step, mini-batch sampler position, loss
//! curve and convergence window, so that a resumed run ends bit-identical to an uninterrupted
//! one. On disk (a folder, replaced atomically): `meta.json` (shapes, counts, sampler, and the
//! job sections that must not change) and `data.bin` (every float as its little-endian IEEE
//! bits: window start, parameters column-major, state buffers, curve rows).
//!
//! Beside it, the side file `dynamics.json` ([`write_checkpoint_side`]) holds what the binary
//! format does not: the integration time and the curve rows' time and logit columns.

use super::{CurveRow, Sampler};
use crate::model::Params;
use crate::Error;
use faer::Mat;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A trainer's resumable state (see [`super::Trainer::checkpoint`]).
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub step: u64,
    pub params: Params,
    pub state: Vec<Vec<f64>>,
    pub curve: Vec<CurveRow>,
    pub window_start: f64,
    pub sampler: Option<Sampler>,
    /// The fused step's K-wide factors at this point (empty for the separate update); see
    /// [`super::fused::Fused::factors`].
    pub factors: Vec<Mat<f64>>,
}

#[derive(Serialize, Deserialize)]
struct Meta {
    format: u32,
    step: u64,
    shapes: Vec<(usize, usize)>,
    state_lens: Vec<usize>,
    curve_rows: usize,
    sampler: Option<Sampler>,
    /// Shapes of the fused step's factors, stored after the curve rows (absent: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    factor_shapes: Vec<(usize, usize)>,
    /// The job's model, init and optimizer sections: a resume must use the same ones.
    job: serde_json::Value,
}

const FORMAT: u32 = 1;

/// Write `c` into `dir` (created or replaced atomically: a sibling temporary folder is
/// renamed into place). `job` identifies the run (compared on resume). A failed write is
/// [`Error::Io`].
pub fn write(dir: &Path, c: &Checkpoint, job: &serde_json::Value) -> Result<(), Error> {
    let ctx = |e: std::io::Error| {
        Error::io(
            dir,
            format!("cannot write checkpoint {}: {e}", dir.display()),
        )
    };
    let meta = Meta {
        format: FORMAT,
        step: c.step,
        shapes: c
            .params
            .mats
            .iter()
            .map(|m| (m.nrows(), m.ncols()))
            .collect(),
        state_lens: c.state.iter().map(Vec::len).collect(),
        curve_rows: c.curve.len(),
        sampler: c.sampler.clone(),
        factor_shapes: c.factors.iter().map(|m| (m.nrows(), m.ncols())).collect(),
        job: job.clone(),
    };
    let mut words: Vec<u64> = vec![c.window_start.to_bits()];
    for m in &c.params.mats {
        for j in 0..m.ncols() {
            words.extend(m.col_as_slice(j).iter().map(|x| x.to_bits()));
        }
    }
    for s in &c.state {
        words.extend(s.iter().map(|x| x.to_bits()));
    }
    for r in &c.curve {
        words.extend([
            r.step,
            r.loss.to_bits(),
            r.fit.to_bits(),
            r.reg.to_bits(),
            r.grad_norm.to_bits(),
        ]);
    }
    for m in &c.factors {
        for j in 0..m.ncols() {
            words.extend(m.col_as_slice(j).iter().map(|x| x.to_bits()));
        }
    }
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let json = serde_json::to_string_pretty(&meta).map_err(|e| Error::Runtime(e.to_string()))?;
    crate::io::replace_dir(dir, &[("data.bin", &bytes), ("meta.json", json.as_bytes())])
        .map_err(ctx)?;
    Ok(())
}

/// Read the checkpoint in `dir`, refusing one made for another model, initialiser or optimiser.
/// Every failure (a missing or unreadable folder too) is [`Error::Input`]: the checkpoint is the
/// resumed run's input, so `ufm run --resume` exits with status 2 as it always has.
pub fn read(dir: &Path, job: &serde_json::Value) -> Result<Checkpoint, Error> {
    let ctx =
        |e: std::io::Error| Error::Input(format!("cannot read checkpoint {}: {e}", dir.display()));
    let meta: Meta = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).map_err(ctx)?)
        .map_err(|e| Error::Input(format!("checkpoint {}: meta.json: {e}", dir.display())))?;
    if meta.format != FORMAT {
        return Err(Error::Input(format!(
            "checkpoint {}: format {} (this ufm reads {FORMAT})",
            dir.display(),
            meta.format
        )));
    }
    if &meta.job != job {
        return Err(Error::Input(format!(
            "checkpoint {}: made for another job (model, init or optimizer differ)",
            dir.display()
        )));
    }
    let bytes = std::fs::read(dir.join("data.bin")).map_err(ctx)?;
    let mut words = bytes
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    // Checked: meta.json is read from disk, and a wrapped product could match the file's size.
    let area = |s: &[(usize, usize)]| {
        s.iter()
            .try_fold(0usize, |a, &(r, c)| a.checked_add(r.checked_mul(c)?))
    };
    let want = (|| {
        1usize
            .checked_add(area(&meta.shapes)?)?
            .checked_add(
                meta.state_lens
                    .iter()
                    .try_fold(0usize, |a, &n| a.checked_add(n))?,
            )?
            .checked_add(meta.curve_rows.checked_mul(5)?)?
            .checked_add(area(&meta.factor_shapes)?)?
            .checked_mul(8)
    })();
    if want != Some(bytes.len()) {
        return Err(Error::Input(format!(
            "checkpoint {}: data.bin has the wrong size",
            dir.display()
        )));
    }
    let mut f = || f64::from_bits(words.next().expect("size checked"));
    let window_start = f();
    let matrix = |f: &mut dyn FnMut() -> f64, (r, c): (usize, usize)| {
        let mut m = Mat::zeros(r, c);
        for j in 0..c {
            for x in m.col_as_slice_mut(j) {
                *x = f();
            }
        }
        m
    };
    let mats = meta.shapes.iter().map(|&s| matrix(&mut f, s)).collect();
    let state = meta
        .state_lens
        .iter()
        .map(|&n| (0..n).map(|_| f()).collect())
        .collect();
    let curve = (0..meta.curve_rows)
        .map(|_| CurveRow {
            step: f().to_bits(),
            loss: f(),
            fit: f(),
            reg: f(),
            grad_norm: f(),
            // Restored by the dynamics side file (run::execute_checkpointed), when present.
            time: f64::NAN,
            logits: None,
        })
        .collect();
    let factors = meta
        .factor_shapes
        .iter()
        .map(|&s| matrix(&mut f, s))
        .collect();
    Ok(Checkpoint {
        step: meta.step,
        params: Params { mats },
        state,
        curve,
        window_start,
        sampler: meta.sampler,
        factors,
    })
}

/// What a checkpoint's binary format does not hold: the integration time, the next step size
/// of a multi-stage rule, the step-0 alignment and the curve rows' time and logit columns.
/// Written as `dynamics.json` beside the checkpoint (after it), read on resume.
#[derive(Serialize, Deserialize)]
struct CheckpointSide {
    time: f64,
    next_dt: f64,
    initial: Option<super::Alignment>,
    /// (step, time, logits) per curve row.
    rows: Vec<(u64, f64, Option<super::LogitState>)>,
}

/// File name of the side file in the checkpoint folder.
pub const CHECKPOINT_SIDE_FILE: &str = "dynamics.json";

/// Write the side file of `trainer`'s checkpoint into `dir` (a failed write is [`Error::Io`]).
pub fn write_checkpoint_side(dir: &std::path::Path, trainer: &super::Trainer) -> Result<(), Error> {
    let side = CheckpointSide {
        time: trainer.time(),
        next_dt: trainer.next_dt(),
        initial: trainer.initial_alignment(),
        rows: trainer
            .curve()
            .iter()
            .map(|r| (r.step, r.time, r.logits))
            .collect(),
    };
    let text = serde_json::to_string(&side).map_err(|e| Error::Runtime(e.to_string()))?;
    let path = dir.join(CHECKPOINT_SIDE_FILE);
    crate::io::write_atomic(&path, text.as_bytes()).map_err(|e| {
        Error::io(
            &path,
            format!("checkpoint: cannot write {CHECKPOINT_SIDE_FILE}: {e}"),
        )
    })
}

/// Restore what [`write_checkpoint_side`] saved into a trainer just restored from the
/// checkpoint in `dir`. A missing side file (a checkpoint of an older ufm) leaves the time at
/// NaN and the logit columns empty for the rows before the resume; a malformed one is
/// [`Error::Input`], as a malformed checkpoint is.
pub fn read_checkpoint_side(
    dir: &std::path::Path,
    trainer: &mut super::Trainer,
) -> Result<(), Error> {
    let path = dir.join(CHECKPOINT_SIDE_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        trainer.set_time(f64::NAN, trainer.next_dt());
        return Ok(());
    };
    let side: CheckpointSide = serde_json::from_str(&text)
        .map_err(|e| Error::Input(format!("checkpoint: {}: {e}", path.display())))?;
    trainer.set_time(side.time, side.next_dt);
    trainer.set_initial_alignment(side.initial);
    let mut curve = trainer.curve().to_vec();
    for (row, (step, time, logits)) in curve.iter_mut().zip(side.rows) {
        if row.step == step {
            row.time = time;
            row.logits = logits;
        }
    }
    trainer.set_curve(curve);
    Ok(())
}
