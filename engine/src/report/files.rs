//! Writing a run's files: result.json, curve.csv, params/*.npy and, when recorded,
//! spectra.csv. [`write_run`] is the one writer of a run folder (the CLI, the sweep runner and
//! `ufm_result_write` all reach it through `run::write_folder`). Every file is written to a
//! temporary name and renamed into place, so a killed process never leaves a half-written file.

use super::result::RunResult;
use crate::io::npy::write_matrix;
use crate::io::write_atomic;
use crate::model::Params;
use crate::train::CurveRow;
use crate::Error;
use std::path::Path;

/// curve.csv text: header [`super::dynamics::CURVE_HEADER`] (docs/results.md), full precision
/// (shortest round-trip).
pub fn curve_csv(curve: &[CurveRow]) -> String {
    let mut s = format!("{}\n", super::dynamics::CURVE_HEADER);
    for r in curve {
        s.push_str(&super::dynamics::curve_line(r));
        s.push('\n');
    }
    s
}

/// Write spectra.csv (when `spectra` is given: `train.record_spectra`), params/, curve.csv and
/// result.json into `dir` (created if needed). result.json is written last, so its presence
/// means the run's files are complete.
pub fn write_run(
    dir: &Path,
    result: &RunResult,
    curve: &[CurveRow],
    params: &Params,
    spectra: Option<&str>,
) -> Result<(), Error> {
    let ctx =
        |e: std::io::Error| Error::io(dir, format!("cannot write into {}: {e}", dir.display()));
    let pdir = dir.join("params");
    std::fs::create_dir_all(&pdir).map_err(ctx)?;
    if let Some(text) = spectra {
        let path = dir.join("spectra.csv");
        write_atomic(&path, text.as_bytes()).map_err(|e| Error::write(&path, e))?;
    }
    // A backbone run's files: H1 = h(X), the head's W_l, then the backbone's B<i>_W, B<i>_b.
    let names = match &result.data {
        Some(d) => std::iter::once("H1".to_string())
            .chain(d.tensors.iter().cloned())
            .collect(),
        None => Params::names(params.layers()),
    };
    for (name, m) in names.iter().zip(&params.mats) {
        let final_path = pdir.join(format!("{name}.npy"));
        let tmp = pdir.join(format!("{name}.npy.tmp{}", std::process::id()));
        write_matrix(&tmp, m.as_ref())?;
        std::fs::rename(&tmp, &final_path).map_err(ctx)?;
    }
    write_atomic(&dir.join("curve.csv"), curve_csv(curve).as_bytes()).map_err(ctx)?;
    let json = serde_json::to_string_pretty(result).map_err(|e| Error::Runtime(e.to_string()))?;
    write_atomic(&dir.join("result.json"), json.as_bytes()).map_err(ctx)
}
