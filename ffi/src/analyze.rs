//! `ufm_analyze`: the measurements of `ufm analyze` (docs/analyze.md) on an export folder.

use super::{c_str, fail_point, guard, ufm_error, ufm_status, Error};
use std::ffi::c_char;
use std::path::Path;

/// The options of `ufm_analyze` (see there).
struct Options {
    rank_tol: f64,
    lambda_h: Option<f64>,
    lambda_w: Option<f64>,
    max_memory_gib: f64,
    plots: bool,
    name: Option<String>,
}

/// The options; a malformed one is `UFM_STATUS_INVALID_ARGUMENT` naming `options_json.<field>`.
fn parse_options(text: Option<&str>) -> Result<Options, Error> {
    let mut o = Options {
        rank_tol: 1e-6,
        lambda_h: None,
        lambda_w: None,
        max_memory_gib: 4.0,
        plots: false,
        name: None,
    };
    let Some(text) = text else { return Ok(o) };
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Error::arg(format!("options_json: not valid JSON: {e}")))?;
    let map = v
        .as_object()
        .ok_or_else(|| Error::arg("options_json: must be a JSON object"))?;
    for (k, val) in map {
        let num = || {
            val.as_f64()
                .ok_or_else(|| Error::arg(format!("options_json.{k}: must be a number")))
        };
        match k.as_str() {
            "rank_tol" => o.rank_tol = num()?,
            "lambda_h" => o.lambda_h = Some(num()?),
            "lambda_w" => o.lambda_w = Some(num()?),
            "max_memory_gib" => o.max_memory_gib = num()?,
            "plots" => {
                o.plots = val
                    .as_bool()
                    .ok_or_else(|| Error::arg("options_json.plots: must be true or false"))?
            }
            "name" => {
                o.name = Some(
                    val.as_str()
                        .ok_or_else(|| Error::arg("options_json.name: must be a string"))?
                        .to_string(),
                )
            }
            other => {
                return Err(Error::arg(format!(
                    "options_json: unknown field `{other}`, expected one of rank_tol, lambda_h, \
                     lambda_w, max_memory_gib, plots, name"
                )))
            }
        }
    }
    Ok(o)
}

/// An error of reading or measuring the export folder. The folder (`dir`) and `options_json`
/// are this call's arguments, so an export that is malformed, too large or inconsistent with
/// the options (kinds Input, Limit, Job, Argument) is `UFM_STATUS_INVALID_ARGUMENT`, as
/// documented below; any other kind follows the one mapping (`From<engine::Error>`).
fn export(e: engine::Error) -> Error {
    use engine::ErrorKind as K;
    match e.kind() {
        K::Input | K::Limit | K::Job | K::Argument => {
            Error::new(ufm_status::UFM_STATUS_INVALID_ARGUMENT, e.to_string())
        }
        _ => Error::from(e),
    }
}

/// Measure the activations exported in folder `dir` (`labels.npy`, `layers/*.npy`, optional
/// `weights/*.npy` and `logits.npy`; docs/analyze.md) and write `out_dir/result.json` (and, with
/// `"plots": true`, `out_dir/plots/`). `options_json` may be NULL or a JSON object with
/// `rank_tol` [1e-6], `lambda_h` and `lambda_w` (both or neither: head loss and DNC bound),
/// `max_memory_gib` [4], `plots` [false], `name` [the folder's name].
///
/// Errors: `UFM_STATUS_NULL_POINTER`, `UFM_STATUS_INVALID_UTF8`, `UFM_STATUS_INVALID_ARGUMENT`
/// (bad options or export files; the message names the file or option), `UFM_STATUS_RUNTIME`
/// (cannot write into `out_dir`).
/// Ownership: the strings are borrowed for the call. `err` as for `ufm_job_validate`.
/// Thread safety: any thread.
#[no_mangle]
pub extern "C" fn ufm_analyze(
    dir: *const c_char,
    options_json: *const c_char,
    out_dir: *const c_char,
    err: *mut *mut ufm_error,
) -> ufm_status {
    guard("ufm_analyze", err, || {
        fail_point("ufm_analyze");
        let dir = Path::new(c_str(dir, "dir")?);
        let out = Path::new(c_str(out_dir, "out_dir")?);
        let bad = |m: String| Error::new(ufm_status::UFM_STATUS_INVALID_ARGUMENT, m);
        let text = if options_json.is_null() {
            None
        } else {
            Some(c_str(options_json, "options_json")?)
        };
        let opts = parse_options(text)?;
        if !(opts.rank_tol > 0.0 && opts.rank_tol < 1.0) {
            return Err(bad(format!(
                "options_json.rank_tol: must be in (0, 1), got {}",
                opts.rank_tol
            )));
        }
        if !(opts.max_memory_gib.is_finite() && opts.max_memory_gib > 0.0) {
            return Err(bad(format!(
                "options_json.max_memory_gib: must be a finite number > 0, got {}",
                opts.max_memory_gib
            )));
        }
        let max_bytes = (opts.max_memory_gib * (1u64 << 30) as f64) as u64;
        let mut e = engine::activations::read_export(dir, max_bytes).map_err(export)?;
        e.lambda_h = opts.lambda_h;
        e.lambda_w = opts.lambda_w;
        let name = opts.name.unwrap_or_else(|| {
            dir.file_name()
                .map_or("export".into(), |n| n.to_string_lossy().into_owned())
        });
        let report =
            engine::activations::analyze_external(&e, &name, opts.rank_tol).map_err(export)?;
        let runtime = |m: String| Error::new(ufm_status::UFM_STATUS_RUNTIME, m);
        std::fs::create_dir_all(out)
            .map_err(|e| runtime(format!("cannot create {}: {e}", out.display())))?;
        let json = serde_json::to_string_pretty(&report).map_err(|e| runtime(e.to_string()))?;
        engine::io::write_atomic(&out.join("result.json"), json.as_bytes())
            .map_err(|e| runtime(format!("cannot write into {}: {e}", out.display())))?;
        if opts.plots {
            // Reading back the result.json just written cannot fail on its input; a figure
            // that cannot be written is Io / Runtime: UFM_STATUS_RUNTIME through the mapping.
            engine::plot::plot_dir(out, None)?;
        }
        Ok(())
    })
}
