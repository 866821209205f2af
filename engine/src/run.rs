//! One job from its validated form to a finished, analysed run: initialise, train, analyse.
//! The CLI, the sweep runner and the C ABI all go through [`execute`].

use crate::analysis::analyze;
use crate::job::{InitChoice, Job, OptimizerChoice};
use crate::model::{ModelSpec, Params};
use crate::report::{FinalReport, Reference, RunResult};
use crate::train::{CurveRow, Progress, TrainOptions, Trainer};
use faer::Par;
use std::path::Path;
use std::sync::atomic::AtomicBool;

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

/// A finished run: its result, curve and final parameters.
pub struct RunOutput {
    pub result: RunResult,
    pub curve: Vec<CurveRow>,
    pub params: Params,
}

/// Build the initial parameters a job asks for.
pub fn initial_params(job: &Job, spec: &ModelSpec, base_dir: &Path) -> Result<Params, RunError> {
    match &job.init {
        InitChoice::Builtin(b) => {
            crate::init::initialise(spec, b, base_dir).map_err(RunError::Input)
        }
        InitChoice::Plugin(p) => Err(RunError::Input(format!(
            "init.plugin: cannot load {}: plugin loading is not available in this build",
            p.plugin
        ))),
    }
}

/// Build the trainer a job asks for, from the given initial parameters.
pub fn trainer(job: &Job, spec: &ModelSpec, params: Params) -> Result<Trainer, RunError> {
    let (optimizer, lr) = match &job.optimizer {
        OptimizerChoice::Builtin(b) => crate::optim::builtin(b),
        OptimizerChoice::Plugin(p) => {
            return Err(RunError::Input(format!(
                "optimizer.plugin: cannot load {}: plugin loading is not available in this build",
                p.plugin
            )))
        }
    };
    let t = &job.train;
    let opts = TrainOptions {
        max_steps: t.max_steps,
        tol: t.tol,
        record_every: t.record_every,
        path: t.grad_path,
        par: Par::Seq,
    };
    Ok(Trainer::new(spec, params, optimizer, lr, opts))
}

/// Train to a stopping rule and analyse the final state.
pub fn execute(
    job: &Job,
    spec: &ModelSpec,
    base_dir: &Path,
    cancel: Option<&AtomicBool>,
    progress: &mut dyn FnMut(Progress),
) -> Result<RunOutput, RunError> {
    let params = initial_params(job, spec, base_dir)?;
    let mut trainer = trainer(job, spec, params)?;
    let outcome = trainer.run(cancel, progress);
    Ok(finish(job, &mut trainer, outcome))
}

/// Analyse a trainer's current state into a result.
pub fn finish(job: &Job, trainer: &mut Trainer, outcome: crate::train::Outcome) -> RunOutput {
    let grad_norm = trainer.grad_norm();
    let spec = trainer.spec();
    let params = trainer.params().clone();
    let analysis = analyze(spec, &params, job.analysis.rank_tol);
    let loss = trainer.loss();
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
        },
        analysis,
        reference: Reference::for_model(spec),
        hessian: if job.analysis.hessian {
            crate::theory::hessian_report(spec, &params, &Default::default()).ok()
        } else {
            None
        },
    };
    RunOutput {
        result,
        curve: trainer.curve().to_vec(),
        params,
    }
}
