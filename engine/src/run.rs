//! One job from its validated form to a finished, analysed run: initialise, train, analyse.
//! The CLI, the sweep runner and the C ABI all go through [`execute`].

use crate::analysis::{analyze_with, AnalysisOptions};
use crate::job::{BuiltinOptimizer, Job, OptimizerChoice, Schedule};
use crate::model::{ModelSpec, Params};
use crate::optim::{LrSchedule, Optimizer};
use crate::report::{FinalReport, RunResult};
use crate::train::{CurveRow, Objective, Progress, Stage, TrainOptions, Trainer};
use crate::Error;
use std::path::Path;

mod reference;

pub use crate::init::run_seed;
pub use crate::plugin::path as plugin_path;
pub use reference::{reference, structure_report};
use std::sync::atomic::AtomicBool;

/// A finished run: its result, curve and final parameters.
pub struct RunOutput {
    pub result: RunResult,
    pub curve: Vec<CurveRow>,
    pub params: Params,
    /// spectra.csv text (`train.record_spectra`).
    pub spectra: Option<String>,
}

/// Write a finished run's folder as `ufm run` does, through the one writer
/// [`crate::report::write_run`] (spectra.csv when recorded, params/, curve.csv, then
/// result.json, which marks the folder complete). The CLI, the sweep runner and
/// `ufm_result_write` all call this, so the three write the same files.
pub fn write_folder(dir: &Path, output: &RunOutput) -> Result<(), Error> {
    crate::report::write_run(
        dir,
        &output.result,
        &output.curve,
        &output.params,
        output.spectra.as_deref(),
    )
}

/// Build the initial parameters a job asks for (for a backbone run: the trainable layout of
/// [`crate::backbone`], which reads the data files to learn the input dimension).
pub fn initial_params(job: &Job, spec: &ModelSpec, base_dir: &Path) -> Result<Params, Error> {
    let params = match backbone_setup(job, spec, base_dir)? {
        Some(s) => crate::init::backbone::initial_params(job, spec, &s.arch, s.gain, base_dir)?,
        None => crate::init::ufm_params(job, spec, base_dir)?,
    };
    // A start that overflowed (a huge std, scale or multiplier) would only "diverge" at step 0.
    let names = Params::names(spec.layers);
    for (i, m) in params.mats.iter().enumerate() {
        if let Some(x) = m.col_iter().flat_map(|c| c.iter()).find(|x| !x.is_finite()) {
            let name = names
                .get(i)
                .map_or_else(|| format!("tensor {i}"), |n| n.to_string());
            // A job error at field `init` (the message reads "init: ..."): callers match the
            // field, not the text.
            return Err(Error::Job(crate::JobError::new(
                "init",
                format!(
                    "the start has a non-finite entry ({x}) in {name}; lower the scale, std, \
                     noise or multiplier"
                ),
            )));
        }
    }
    Ok(params)
}

/// Build the trainer a job asks for, from the given initial parameters (plugin paths relative
/// to the current directory; see [`trainer_in`]).
pub fn trainer(job: &Job, spec: &ModelSpec, params: Params) -> Result<Trainer, Error> {
    trainer_in(job, spec, params, Path::new(""))
}

/// A backbone run's prepared data and architecture.
pub struct BackboneSetup {
    pub arch: crate::backbone::BackboneSpec,
    pub data: crate::data::Prepared,
    /// Initial weight gain (see `backbone.init_gain`).
    pub gain: f64,
}

/// Read and prepare the data of a job with a `backbone` (None for the deep UFM).
pub fn backbone_setup(
    job: &Job,
    spec: &ModelSpec,
    base_dir: &Path,
) -> Result<Option<BackboneSetup>, Error> {
    let (Some(b), Some(d)) = (&job.backbone, &job.data) else {
        return Ok(None);
    };
    let max_bytes = (job.train.max_memory_gib * (1u64 << 30) as f64) as u64;
    let data = crate::data::prepare(d, base_dir, &spec.class_sizes, max_bytes)
        .map_err(|e| e.context("data"))?;
    let weight_decay = match b.regularization {
        crate::job::Regularization::Ufm => 0.0,
        crate::job::Regularization::Standard => spec.lambda_w,
    };
    let arch = crate::backbone::BackboneSpec {
        input: data.train.x.nrows(),
        width: b.width,
        output: spec.width,
        layers: b.layers,
        activation: b.activation,
        weight_decay,
    };
    let gain = b
        .init_gain
        .unwrap_or_else(|| crate::init::backbone::default_gain(b.activation));
    Ok(Some(BackboneSetup { arch, data, gain }))
}

/// Build the trainer a job asks for; relative plugin paths are resolved against `base_dir`.
pub fn trainer_in(
    job: &Job,
    spec: &ModelSpec,
    params: Params,
    base_dir: &Path,
) -> Result<Trainer, Error> {
    let setup = backbone_setup(job, spec, base_dir)?;
    build_trainer(job, spec, params, base_dir, setup)
}

/// [`trainer_in`] with the backbone's data already prepared.
fn build_trainer(
    job: &Job,
    spec: &ModelSpec,
    params: Params,
    base_dir: &Path,
    setup: Option<BackboneSetup>,
) -> Result<Trainer, Error> {
    let t = &job.train;
    let (optimizer, lr, schedule, batch): (
        Box<dyn Optimizer>,
        f64,
        Option<Schedule>,
        Option<usize>,
    ) = match &job.optimizer {
        OptimizerChoice::Builtin(b) => {
            let (lr, schedule, batch) = b.host_settings();
            let opt = crate::plugin::builtin()
                .optimizer(b.id(), &b.plugin_params())
                .map_err(|e| e.context("optimizer"))?;
            // `gd` / `sgd` use the engine's vectorised out-of-place step, which avoids the
            // in-place adapter's copy (~8% of a Figure-1 step) and computes the same p - lr g
            // bit for bit (tests compare it with the library loaded by path).
            let opt: Box<dyn Optimizer> = match b {
                BuiltinOptimizer::Gd(_) | BuiltinOptimizer::Sgd(_) => Box::new(crate::optim::Gd),
                // The fused step applies momentum itself (the same per-entry arithmetic), with
                // the parameters as the job holds them (plugin-std's type, its defaults).
                BuiltinOptimizer::Momentum(c) => Box::new(crate::optim::WithFusedRule {
                    inner: Box::new(opt),
                    rule: crate::train::FusedRule::Momentum {
                        momentum: c.rule.momentum,
                        dampening: c.rule.dampening,
                    },
                }),
                _ => Box::new(opt),
            };
            (opt, lr, schedule.cloned(), batch)
        }
        OptimizerChoice::Plugin(p) => {
            let lib = crate::plugin::load(&plugin_path(base_dir, &p.plugin))
                .map_err(|e| e.context("optimizer.plugin"))?;
            let opt = lib
                .optimizer(&p.id, &p.params)
                .map_err(|e| e.context("optimizer"))?;
            (Box::new(opt), p.lr, p.schedule.clone(), p.batch_size)
        }
    };
    let opts = TrainOptions {
        max_steps: t.max_steps,
        tol: t.tol,
        record_every: t.record_every,
        path: t.grad_path,
        par: crate::linalg::threads::par(t.threads),
    };
    let schedule = LrSchedule {
        base: lr,
        schedule,
        max_steps: t.max_steps,
    };
    let trainer = match setup {
        None => Trainer::with_update(spec, params, optimizer, lr, opts, t.update)?,
        Some(s) => {
            let want = crate::backbone::trainable_shapes(spec, &s.arch);
            let got: Vec<_> = params.mats.iter().map(|m| (m.nrows(), m.ncols())).collect();
            if want != got {
                return Err(Error::Input(format!(
                    "init: the backbone run needs tensors of shapes {want:?}, got {got:?}"
                )));
            }
            let bb = crate::backbone::BackboneObjective::new(
                spec,
                s.arch,
                s.data.train,
                s.data.test,
                opts.path,
                opts.par,
            )?;
            let objective = Objective::Backbone(Box::new(bb));
            Trainer::with_objective(spec, params, objective, optimizer, lr, opts)
        }
    };
    let mut trainer = trainer
        .with_schedule(schedule)
        .with_rank_tol(job.analysis.rank_tol)
        .with_spectra(t.record_spectra);
    if let Some(m) = t.max_time {
        trainer.set_max_time(m);
    }
    if let Some(b) = batch {
        trainer = trainer.with_batches(b, run_seed(job));
    }
    Ok(trainer)
}

/// Train to a stopping rule and analyse the final state.
pub fn execute(
    job: &Job,
    spec: &ModelSpec,
    base_dir: &Path,
    cancel: Option<&AtomicBool>,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunOutput, Error> {
    let mut trainer = start(job, spec, base_dir)?;
    let outcome = trainer.run(cancel, progress);
    Ok(finish_owned(job, trainer, outcome, cancel, progress))
}

/// Initial parameters and trainer, reading a backbone run's data files once.
fn start(job: &Job, spec: &ModelSpec, base_dir: &Path) -> Result<Trainer, Error> {
    let setup = backbone_setup(job, spec, base_dir)?;
    let params = match &setup {
        Some(s) => crate::init::backbone::initial_params(job, spec, &s.arch, s.gain, base_dir)?,
        None => crate::init::ufm_params(job, spec, base_dir)?,
    };
    build_trainer(job, spec, params, base_dir, setup)
}

/// Where and how often [`execute_checkpointed`] saves the run.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointOptions<'a> {
    /// The checkpoint folder (the CLI uses `OUT/checkpoint`).
    pub dir: &'a Path,
    /// Save every this many steps (a multiple of `train.record_every`); 0 = only at the end.
    pub every: u64,
    /// Continue from the checkpoint in `dir` instead of starting afresh.
    pub resume: bool,
}

/// The job sections a checkpoint belongs to (a resume may change `train`, not these).
pub fn checkpoint_key(job: &Job) -> serde_json::Value {
    let mut key =
        serde_json::json!({"model": job.model, "init": job.init, "optimizer": job.optimizer});
    if job.backbone.is_some() {
        key["data"] = serde_json::json!(job.data);
        key["backbone"] = serde_json::json!(job.backbone);
    }
    key
}

/// As [`execute`], saving a checkpoint every `ck.every` steps and at the end (whatever the
/// status), and optionally resuming from one: a resumed run ends bit-identical to an
/// uninterrupted one.
pub fn execute_checkpointed(
    job: &Job,
    spec: &ModelSpec,
    base_dir: &Path,
    cancel: Option<&AtomicBool>,
    progress: &mut dyn FnMut(Progress),
    ck: CheckpointOptions<'_>,
) -> Result<RunOutput, Error> {
    let record = job.train.record_every;
    if ck.every > 0 && !ck.every.is_multiple_of(record) {
        return Err(Error::Input(format!(
            "--checkpoint-every: must be a multiple of train.record_every = {record}, got {}",
            ck.every
        )));
    }
    let key = checkpoint_key(job);
    let mut trainer = start(job, spec, base_dir)?;
    if ck.resume {
        let c = crate::train::checkpoint::read(ck.dir, &key)?;
        trainer.restore(c)?;
        crate::train::checkpoint::read_checkpoint_side(ck.dir, &mut trainer)?;
    }
    let max = job.train.max_steps;
    let mut seconds = 0.0;
    let outcome = loop {
        let target = match trainer.steps().checked_div(ck.every) {
            Some(k) => ((k + 1) * ck.every).min(max),
            None => max,
        };
        trainer.set_max_steps(target);
        let o = trainer.run(cancel, progress);
        seconds += o.seconds;
        if o.status == crate::train::Status::MaxSteps && trainer.steps() < max {
            crate::train::checkpoint::write(ck.dir, &trainer.checkpoint(), &key)?;
            crate::train::checkpoint::write_checkpoint_side(ck.dir, &trainer)?;
            continue;
        }
        break o;
    };
    trainer.set_max_steps(max);
    crate::train::checkpoint::write(ck.dir, &trainer.checkpoint(), &key)?;
    crate::train::checkpoint::write_checkpoint_side(ck.dir, &trainer)?;
    let outcome = crate::train::Outcome { seconds, ..outcome };
    Ok(finish_owned(job, trainer, outcome, cancel, progress))
}

/// Analyse a trainer's current state into a result (the trainer stays usable).
pub fn finish(job: &Job, trainer: &mut Trainer, outcome: crate::train::Outcome) -> RunOutput {
    let params = trainer.params().clone();
    analyse_into(job, trainer, params, outcome, None, &mut |_| {})
}

/// As [`finish`] at the end of a run: the parameters move out of the trainer (no copy), the
/// analysis reports progress and stops measuring weight spectra when `cancel` is raised
/// (result.json then says `"cancelled": true`; the training results are complete).
pub fn finish_owned(
    job: &Job,
    mut trainer: Trainer,
    outcome: crate::train::Outcome,
    cancel: Option<&AtomicBool>,
    progress: &mut dyn FnMut(Progress),
) -> RunOutput {
    trainer.grad_norm();
    let params = trainer.take_params();
    analyse_into(job, &mut trainer, params, outcome, cancel, progress)
}

fn analyse_into(
    job: &Job,
    trainer: &mut Trainer,
    params: Params,
    outcome: crate::train::Outcome,
    cancel: Option<&AtomicBool>,
    progress: &mut dyn FnMut(Progress),
) -> RunOutput {
    let grad_norm = trainer.grad_norm();
    let trained = params;
    // A backbone run is measured on its head: [h(X), W_1..W_L], with the backbone's tensors
    // appended for the output files.
    let (mut params, extra, test_accuracy, data_report) = match trainer.backbone_mut() {
        Some(bb) => {
            let head = bb.head_params(&trained);
            let report = crate::report::DataReport {
                input_dim: bb.arch().input,
                train_samples: bb.head_spec().samples(),
                test_samples: bb.test_samples(),
                backbone_parameters: bb.arch().parameter_count(),
                tensors: crate::backbone::trainable_names(bb.head_spec(), bb.arch()),
            };
            let acc = bb.test_accuracy(&trained);
            let layers = bb.head_spec().layers;
            (head, trained.mats[layers..].to_vec(), acc, Some(report))
        }
        None => (trained, Vec::new(), None, None),
    };
    let spec = trainer.spec();
    let loss = trainer.loss();
    let total = spec.layers + 2;
    let mut done = 0;
    let mut report = |_: &str| {
        progress(Progress {
            step: outcome.steps,
            max_steps: outcome.steps,
            loss: loss.loss,
            stage: Stage::Analysis { done, total },
        });
        done += 1;
    };
    let opts = AnalysisOptions::from(&job.analysis);
    let analysis = analyze_with(spec, &params, &opts, cancel, &mut report);
    let structure = structure_report(spec, &analysis.logits.class_means, loss.loss);
    let finite = loss.loss.is_finite()
        && params
            .mats
            .iter()
            .all(|m| m.col_iter().all(|c| c.iter().all(|x| x.is_finite())));
    let mut notes = Vec::new();
    let hessian = if !job.analysis.hessian {
        None
    } else if job.backbone.is_some() {
        notes.push(
            "hessian: not computed for backbone runs (the report covers the deep UFM's \
             parameters only)"
                .to_string(),
        );
        None
    } else if !finite || outcome.status == crate::train::Status::Diverged {
        // A diverged run keeps its last finite state, but that state sits where the loss blows
        // up: its logits can overflow every decomposition the report needs.
        notes.push(format!(
            "hessian: skipped, the run {} (the Hessian report needs a finite state away from \
             divergence)",
            if finite {
                "diverged"
            } else {
                "ended at a non-finite state"
            }
        ));
        None
    } else {
        match crate::theory::hessian_report(spec, &params, &Default::default()) {
            Ok(h) => Some(h),
            Err(e) => {
                notes.push(format!("hessian: skipped, {e}"));
                None
            }
        }
    };
    params.mats.extend(extra);
    let result = RunResult {
        ufm_version: crate::version().to_string(),
        job: job.clone(),
        status: outcome.status,
        message: outcome.message,
        steps: outcome.steps,
        seconds: outcome.seconds,
        grad_path: serde_json::to_value(trainer.grad_path())
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default(),
        final_: FinalReport {
            loss: loss.loss,
            fit: loss.fit,
            reg: loss.reg,
            grad_norm,
            train_accuracy: analysis.train_accuracy,
            test_accuracy,
        },
        data: data_report,
        analysis,
        reference: reference(spec),
        structure,
        hessian,
        notes,
        dynamics: crate::report::DynamicsReport::from_curve(
            trainer.curve(),
            outcome.status,
            trainer.initial_alignment(),
        ),
    };
    RunOutput {
        result,
        curve: trainer.curve().to_vec(),
        params,
        spectra: trainer
            .spectra()
            .map(|s| crate::report::dynamics::spectra_csv(s, trainer.spec().layers)),
    }
}
