//! The training loop: steps, stopping rules, the loss curve, cancellation and progress.
//!
//! Step t means "parameters after t optimiser updates"; curve rows, `steps` and the final loss all
//! refer to that numbering. The loop allocates nothing per step: two parameter buffers, the
//! gradient, optimiser state and the gradient workspace are allocated in [`Trainer::new`].

use crate::grad::{GradPath, LossParts, Workspace};
use crate::model::{ModelSpec, Params};
use crate::optim::{LrSchedule, Optimizer, StepInfo};
use faer::Par;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

pub mod checkpoint;
pub mod dynamics;
pub mod fused;
mod objective;

pub use dynamics::{Alignment, LogitProbe, LogitState};
pub use fused::{FusedRule, UpdateMode, FUSED_AUTO_WIDTH};
pub use objective::Objective;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The loss stopped changing (relative change below `tol` over one record window).
    Converged,
    /// `max_steps` updates were made.
    MaxSteps,
    /// A step produced a non-finite loss; the last state with a finite loss is kept.
    Diverged,
    /// The cancellation flag was raised.
    Cancelled,
    /// The optimiser (e.g. a plugin) reported an error.
    Failed,
}

/// One record step of `train.record_spectra`: the step and the singular values of H1, W_1..W_L.
pub type SpectraRow = (u64, Vec<Vec<f64>>);

/// One row of curve.csv.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    pub step: u64,
    pub loss: f64,
    pub fit: f64,
    pub reg: f64,
    pub grad_norm: f64,
    /// Integration time: the sum of the learning rates (step sizes) of the steps made, so that
    /// gradient descent at rate lr after t steps sits at time t lr of the gradient flow.
    #[serde(default)]
    pub time: f64,
    /// The class-mean logit structure at this step ([`dynamics`]; None for backbone runs and
    /// rows restored from a checkpoint without it).
    #[serde(default)]
    pub logits: Option<LogitState>,
}

/// Stopping rules and recording (from the job's `train` section).
#[derive(Clone, Copy, Debug)]
pub struct TrainOptions {
    pub max_steps: u64,
    pub tol: f64,
    pub record_every: u64,
    pub path: GradPath,
    pub par: Par,
}

/// What a progress callback sees at every recorded step, and then once per matrix of the
/// end-of-run analysis (`stage`).
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub step: u64,
    pub max_steps: u64,
    pub loss: f64,
    pub stage: Stage,
}

/// The phase a [`Progress`] report belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Train,
    /// Measuring item `done + 1` of `total` (features, each weight, the logits).
    Analysis {
        done: usize,
        total: usize,
    },
}

/// The end of a run.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub status: Status,
    pub steps: u64,
    pub seconds: f64,
    pub message: Option<String>,
}

/// A model being trained: parameters, optimiser and all buffers.
pub struct Trainer {
    spec: ModelSpec,
    opts: TrainOptions,
    ws: Objective,
    /// Double buffer: `bufs[cur]` is the current state; updates write the other one.
    bufs: [Params; 2],
    cur: usize,
    grad: Params,
    state: Vec<Vec<f64>>,
    optimizer: Box<dyn Optimizer>,
    schedule: LrSchedule,
    /// Mini-batches (`sgd`, or any optimiser with `batch_size`): `None` = full batch.
    sampler: Option<Sampler>,
    step: u64,
    loss: LossParts,
    /// ||gradient|| at the current step, computed on demand (a full pass over the gradient
    /// that the step loop does not need). `None` until asked for at this step.
    grad_norm_step: Option<f64>,
    curve: Vec<CurveRow>,
    /// Loss at the start of the current convergence window (the last record step).
    window_start: f64,
    /// The fused step ([`fused`]), when this trainer uses it. Then `bufs[0]` is always the
    /// current state, `bufs[1]` and `grad` hold only H1 and W_L (the d x d matrices are 0 x 0
    /// there: updated in place, their gradients kept as K-wide factors).
    fused: Option<fused::Fused>,
    /// Integration time (sum of the step sizes taken; see [`CurveRow::time`]).
    time: f64,
    /// Stop (status `max_steps`) once `time` reaches this (infinity: no bound).
    max_time: f64,
    /// Stages per step of the optimiser (1: `update`; > 1: a multi-stage rule such as `flow`).
    stages: u32,
    /// The step size a multi-stage rule tries next (its controller's proposal).
    next_dt: f64,
    /// Measures the logit structure at record steps (None for backbone runs).
    probe: Option<Box<LogitProbe>>,
    /// Alignment of the step-0 class-mean logits (set when step 0 is recorded).
    initial_alignment: Option<Alignment>,
    /// Singular values of every matrix at every record step (`train.record_spectra`).
    spectra: Option<Vec<SpectraRow>>,
    /// Why the last multi-stage step failed (it returns `Ok(false)`), for the run's message.
    staged_failure: Option<String>,
}

impl Trainer {
    /// Set up training from `params` and evaluate the loss at step 0.
    pub fn new(
        spec: &ModelSpec,
        params: Params,
        optimizer: Box<dyn Optimizer>,
        lr: f64,
        opts: TrainOptions,
    ) -> Self {
        let ws = Objective::Ufm(Workspace::new(spec, opts.path, opts.par));
        Self::build(spec, params, ws, optimizer, lr, opts, None)
    }

    /// As [`Trainer::new`], minimising `ws` (e.g. a backbone run); `params` must have the
    /// objective's tensor shapes. `spec` is the (head) model. Always the separate update.
    pub fn with_objective(
        spec: &ModelSpec,
        params: Params,
        ws: Objective,
        optimizer: Box<dyn Optimizer>,
        lr: f64,
        opts: TrainOptions,
    ) -> Self {
        Self::build(spec, params, ws, optimizer, lr, opts, None)
    }

    /// As [`Trainer::new`], with the update of the d x d matrices chosen by `mode` (see
    /// [`UpdateMode`]). `Fused` where the fused step does not apply is an error naming
    /// `train.update`.
    pub fn with_update(
        spec: &ModelSpec,
        params: Params,
        optimizer: Box<dyn Optimizer>,
        lr: f64,
        opts: TrainOptions,
        mode: UpdateMode,
    ) -> Result<Self, crate::Error> {
        let rule = Self::fused_rule_for(spec, optimizer.as_ref(), opts.path, mode)?;
        let ws = Objective::Ufm(Workspace::new(spec, opts.path, opts.par));
        Ok(Self::build(spec, params, ws, optimizer, lr, opts, rule))
    }

    /// The fused rule `mode` resolves to for this model and optimiser (`None` = separate).
    pub fn fused_rule_for(
        spec: &ModelSpec,
        optimizer: &dyn Optimizer,
        path: GradPath,
        mode: UpdateMode,
    ) -> Result<Option<FusedRule>, crate::Error> {
        let factored = path != GradPath::Layered && fused::Fused::applies(spec);
        let rule = optimizer.fused_rule();
        match mode {
            UpdateMode::Separate => Ok(None),
            UpdateMode::Auto => {
                Ok(rule.filter(|_| factored && spec.width >= fused::FUSED_AUTO_WIDTH))
            }
            UpdateMode::Fused => {
                let bad = |message: String| crate::JobError::new("train.update", message).into();
                if !factored {
                    return Err(bad(format!(
                        "`fused` needs a linear model with layers >= 2 and the factored gradient (grad_path auto or factored); this job has activation {}, layers {}, grad_path {}",
                        serde_label(&spec.activation),
                        spec.layers,
                        serde_label(&path)
                    )));
                }
                rule.map(Some).ok_or_else(|| {
                    bad("`fused` needs an optimizer with a fused form (gd, sgd, momentum by name); plugins loaded by path use the separate update".to_string())
                })
            }
        }
    }

    fn build(
        spec: &ModelSpec,
        params: Params,
        ws: Objective,
        mut optimizer: Box<dyn Optimizer>,
        lr: f64,
        opts: TrainOptions,
        rule: Option<FusedRule>,
    ) -> Self {
        let layers = spec.layers;
        // Fused: only H1 and W_L get a second buffer and a stored gradient.
        let small = |i: usize| rule.is_none() || i == 0 || i == layers;
        // Shapes from `params`: a backbone run's tensors are not the UFM's.
        let grad = Params {
            mats: shapes(&params)
                .iter()
                .enumerate()
                .map(|(i, &(r, c))| {
                    if small(i) {
                        faer::Mat::zeros(r, c)
                    } else {
                        faer::Mat::zeros(0, 0)
                    }
                })
                .collect(),
        };
        let state = shapes(&params)
            .iter()
            .map(|&(r, c)| {
                let mut s = vec![0.0; optimizer.state_len(r, c)];
                optimizer.init_state(r, c, &mut s);
                s
            })
            .collect();
        let rows = (opts.max_steps / opts.record_every + 2).min(1 << 16) as usize;
        let spare = Params {
            mats: params
                .mats
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    if small(i) {
                        m.clone()
                    } else {
                        faer::Mat::zeros(0, 0)
                    }
                })
                .collect(),
        };
        let ufm = matches!(ws, Objective::Ufm(_));
        let stages = optimizer.stages();
        let mut t = Trainer {
            spec: spec.clone(),
            opts,
            ws,
            bufs: [params, spare],
            cur: 0,
            grad,
            state,
            optimizer,
            schedule: LrSchedule::constant(lr),
            sampler: None,
            step: 0,
            loss: LossParts::default(),
            grad_norm_step: None,
            curve: Vec::with_capacity(rows),
            window_start: 0.0,
            fused: rule.map(|r| fused::Fused::new(spec, r, opts.par)),
            time: 0.0,
            max_time: f64::INFINITY,
            stages,
            next_dt: lr,
            probe: ufm.then(|| Box::new(LogitProbe::new(spec, 1e-6))),
            initial_alignment: None,
            spectra: None,
            staged_failure: None,
        };
        t.loss = t.evaluate();
        t.window_start = t.loss.loss;
        t
    }

    /// Loss and gradient at the current parameters (into `grad`, or the fused factors).
    fn evaluate(&mut self) -> LossParts {
        match &mut self.fused {
            Some(f) => f.evaluate(
                &self.spec,
                &self.bufs[self.cur],
                &mut self.grad,
                &self.state,
            ),
            None => self
                .ws
                .loss_and_grad(&self.spec, &self.bufs[self.cur], &mut self.grad),
        }
    }

    fn set_batch(&mut self, cols: &[usize]) {
        match &mut self.fused {
            Some(f) => f.set_batch(cols),
            None => self.ws.set_batch(cols),
        }
    }

    /// The fused rule in use (`None`: the separate update).
    pub fn fused_rule(&self) -> Option<FusedRule> {
        self.fused.as_ref().map(|f| f.rule())
    }

    /// Use `schedule` for the learning rate of every step.
    pub fn with_schedule(mut self, schedule: LrSchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Train on mini-batches of `batch_size` samples drawn without replacement per epoch
    /// (see [`Sampler`]) from `seed`; the gradient at the current point is re-evaluated on the
    /// first batch. `batch_size` >= N still draws (the permutation of) every sample each step.
    pub fn with_batches(mut self, batch_size: usize, seed: u64) -> Self {
        let mut sampler = Sampler::new(self.spec.samples(), batch_size, seed);
        let first = sampler.next_batch().to_vec();
        self.set_batch(&first);
        self.sampler = Some(sampler);
        self.loss = self.evaluate();
        self.grad_norm_step = None;
        self
    }

    /// The relative rank tolerance of the recorded logit rank (default 1e-6, as
    /// `analysis.rank_tol`).
    pub fn with_rank_tol(mut self, rank_tol: f64) -> Self {
        if self.probe.is_some() {
            self.probe = Some(Box::new(LogitProbe::new(&self.spec, rank_tol)));
        }
        self
    }

    /// Also record the singular values of every matrix at every record step (allocates and
    /// costs a dense SVD per matrix per record step: an opt-in extra).
    pub fn with_spectra(mut self, on: bool) -> Self {
        self.spectra = on.then(Vec::new);
        self
    }

    /// Stop once the integration time reaches `max_time` (multi-stage rules end exactly there).
    pub fn set_max_time(&mut self, max_time: f64) {
        self.max_time = max_time;
    }

    /// Integration time so far (sum of the step sizes).
    pub fn time(&self) -> f64 {
        self.time
    }

    /// Restore the integration time and the next step size (resuming from a checkpoint).
    pub fn set_time(&mut self, time: f64, next_dt: f64) {
        self.time = time;
        self.next_dt = next_dt;
    }

    /// The step size a multi-stage optimiser tries next.
    pub fn next_dt(&self) -> f64 {
        self.next_dt
    }

    /// Alignment of the step-0 class-mean logits, once step 0 has been recorded.
    pub fn initial_alignment(&self) -> Option<Alignment> {
        self.initial_alignment
    }

    /// Set the step-0 alignment (resuming from a checkpoint).
    pub fn set_initial_alignment(&mut self, a: Option<Alignment>) {
        self.initial_alignment = a;
    }

    /// The recorded spectra: (step, singular values of H1, W_1, .., W_L).
    pub fn spectra(&self) -> Option<&[SpectraRow]> {
        self.spectra.as_deref()
    }

    /// Replace the curve (resuming: rows with their logit columns from a side file).
    pub fn set_curve(&mut self, curve: Vec<CurveRow>) {
        self.curve = curve;
    }

    /// The logit structure of the current parameters (None for backbone runs).
    pub fn measure_logits(&mut self) -> Option<LogitState> {
        let probe = self.probe.as_mut()?;
        Some(probe.measure(&self.spec, &self.bufs[self.cur]))
    }

    /// The class-mean logits of the last measurement (None for backbone runs).
    pub fn probe(&self) -> Option<&LogitProbe> {
        self.probe.as_deref()
    }

    /// The learning-rate schedule in use.
    pub fn schedule(&self) -> &LrSchedule {
        &self.schedule
    }

    /// Current parameters (after `steps()` updates).
    pub fn params(&self) -> &Params {
        &self.bufs[self.cur]
    }

    /// Move the current parameters out (the trainer keeps an empty set: only for the end of
    /// a run, so that the analysis and the files need no second copy of a wide model).
    pub fn take_params(&mut self) -> Params {
        std::mem::replace(&mut self.bufs[self.cur], Params { mats: Vec::new() })
    }

    /// Replace the current parameters (same shapes) and re-evaluate loss and gradient.
    pub fn set_params(&mut self, params: Params) {
        self.bufs[self.cur] = params;
        self.loss = self.evaluate();
        self.grad_norm_step = None;
        self.window_start = self.loss.loss;
    }

    /// Change the step bound (e.g. to run in chunks between checkpoints).
    pub fn set_max_steps(&mut self, max_steps: u64) {
        self.opts.max_steps = max_steps;
    }

    /// Everything needed to continue this run exactly: see [`checkpoint`].
    pub fn checkpoint(&self) -> checkpoint::Checkpoint {
        checkpoint::Checkpoint {
            step: self.step,
            params: self.bufs[self.cur].clone(),
            state: self.state.clone(),
            curve: self.curve.clone(),
            window_start: self.window_start,
            sampler: self.sampler.clone(),
            factors: self.fused.as_ref().map(|f| f.factors()).unwrap_or_default(),
        }
    }

    /// Continue from `c` (made by [`Trainer::checkpoint`] for the same model and optimiser).
    pub fn restore(&mut self, c: checkpoint::Checkpoint) -> Result<(), crate::Error> {
        let shapes: Vec<(usize, usize)> = c
            .params
            .mats
            .iter()
            .map(|m| (m.nrows(), m.ncols()))
            .collect();
        if shapes != self::shapes(&self.bufs[self.cur]) {
            return Err(crate::Error::Input(
                "checkpoint: parameter shapes differ from the model".into(),
            ));
        }
        let lens: Vec<usize> = c.state.iter().map(Vec::len).collect();
        let want: Vec<usize> = self.state.iter().map(Vec::len).collect();
        if lens != want {
            return Err(crate::Error::Input(
                "checkpoint: optimiser state sizes differ from this optimiser's".into(),
            ));
        }
        if c.sampler.is_some() != self.sampler.is_some() {
            return Err(crate::Error::Input(
                "checkpoint: mini-batch settings differ".into(),
            ));
        }
        if let Some(s) = &c.sampler {
            let batch = s.current().to_vec();
            self.set_batch(&batch);
        }
        self.sampler = c.sampler;
        self.bufs[self.cur] = c.params;
        self.state = c.state;
        self.curve = c.curve;
        // An interrupted run ends with a row for its last step; an uninterrupted one records
        // that step only if it is a record step.
        if !c.step.is_multiple_of(self.opts.record_every)
            && self.curve.last().map(|r| r.step) == Some(c.step)
        {
            self.curve.pop();
        }
        self.step = c.step;
        self.loss = match &mut self.fused {
            Some(f) => f.evaluate_with(
                &self.spec,
                &self.bufs[self.cur],
                &mut self.grad,
                &self.state,
                Some(&c.factors),
            ),
            None => self.evaluate(),
        };
        self.grad_norm_step = None;
        self.window_start = c.window_start;
        Ok(())
    }

    /// Gradient at the current parameters as stored. With the fused step the d x d matrices'
    /// entries are 0 x 0 here (their gradients exist only as K-wide factors): use
    /// [`Trainer::gradient_of`].
    pub fn gradient(&self) -> &Params {
        &self.grad
    }

    /// The gradient of matrix `index` (0 = H1, l = W_l) at the current parameters, formed
    /// from the fused factors when needed (then it allocates d x d).
    pub fn gradient_of(&self, index: usize) -> std::borrow::Cow<'_, faer::Mat<f64>> {
        let g = &self.grad.mats[index];
        match &self.fused {
            Some(f) if g.nrows() == 0 && index > 0 && index < self.spec.layers => {
                let (r, c) = self.spec.shapes()[index];
                let mut out = faer::Mat::zeros(r, c);
                f.middle_gradient(&self.spec, &self.bufs[self.cur], index, &mut out);
                std::borrow::Cow::Owned(out)
            }
            _ => std::borrow::Cow::Borrowed(g),
        }
    }

    pub fn loss(&self) -> LossParts {
        self.loss
    }

    /// Euclidean norm of the gradient at the current parameters.
    pub fn grad_norm(&mut self) -> f64 {
        if let Some(g) = self.grad_norm_step {
            return g;
        }
        let g = match &mut self.fused {
            // H1, the middle matrices (one read pass each), W_L: the order `norm` sums in.
            Some(f) => {
                let layers = self.spec.layers;
                let h = crate::grad::elementwise::squared_norm(self.grad.mats[0].as_ref());
                let mid = f.middle_grad_sq(&self.spec, &self.bufs[self.cur]);
                let top = crate::grad::elementwise::squared_norm(self.grad.mats[layers].as_ref());
                (h + mid + top).sqrt()
            }
            None => norm(&self.grad),
        };
        self.grad_norm_step = Some(g);
        g
    }

    pub fn steps(&self) -> u64 {
        self.step
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn curve(&self) -> &[CurveRow] {
        &self.curve
    }

    /// Optimiser state buffers, one per matrix (for checkpoints).
    pub fn optimizer_state(&self) -> &[Vec<f64>] {
        &self.state
    }

    /// The gradient algorithm in use.
    pub fn grad_path(&self) -> GradPath {
        self.ws.path()
    }

    /// The backbone of a backbone run (None for the deep UFM).
    pub fn backbone_mut(&mut self) -> Option<&mut crate::backbone::BackboneObjective> {
        match &mut self.ws {
            Objective::Backbone(b) => Some(b),
            Objective::Ufm(_) => None,
        }
    }

    /// The curve row of the current step, with its logit structure (record-step work: the
    /// probe's buffers are preallocated, see [`dynamics`]).
    fn row(&mut self) -> CurveRow {
        let logits = self.measure_logits();
        if self.step == 0 && self.initial_alignment.is_none() {
            self.initial_alignment = self.probe.as_mut().map(|p| p.alignment());
        }
        if let Some(sp) = &mut self.spectra {
            let p = &self.bufs[self.cur];
            let values = (0..p.mats.len())
                .map(|i| {
                    let m = if p.mats[i].nrows() == 0 && i > 0 {
                        // Fused: the middle matrices live only in bufs[0].
                        self.bufs[0].mats[i].as_ref()
                    } else {
                        p.mats[i].as_ref()
                    };
                    crate::analysis::singular_values(m)
                })
                .collect();
            sp.push((self.step, values));
        }
        CurveRow {
            step: self.step,
            loss: self.loss.loss,
            fit: self.loss.fit,
            reg: self.loss.reg,
            grad_norm: self.grad_norm(),
            time: self.time,
            logits,
        }
    }

    /// One optimiser update and the evaluation at the new point. On a non-finite loss the new
    /// point is discarded (the state stays at the last finite one) and
    /// `Ok(false)` is returned.
    pub fn advance(&mut self) -> Result<bool, crate::Error> {
        if self.fused.is_some() {
            return self.advance_fused();
        }
        if self.stages > 1 {
            return self.advance_staged();
        }
        let (a, b) = self.bufs.split_at_mut(1);
        let (cur, next) = if self.cur == 0 {
            (&a[0], &mut b[0])
        } else {
            (&b[0], &mut a[0])
        };
        let lr = self.schedule.lr(self.step + 1);
        // With several threads, a rule known entry by entry is applied by the engine across
        // them (same bits, see optim::update_in_parallel); else the optimiser runs it.
        for (i, state) in self.state.iter_mut().enumerate() {
            let at = StepInfo {
                step: self.step + 1,
                lr,
                tensor: i,
            };
            crate::optim::update_tensor(
                self.optimizer.as_mut(),
                at,
                cur.mats[i].as_ref(),
                next.mats[i].as_mut(),
                self.grad.mats[i].as_ref(),
                state,
                self.opts.par,
            )?;
        }
        if let Some(sampler) = &mut self.sampler {
            self.ws.set_batch(sampler.next_batch());
        }
        let loss = self.ws.loss_and_grad(&self.spec, next, &mut self.grad);
        if !loss.is_finite() {
            return Ok(false);
        }
        self.cur = 1 - self.cur;
        self.step += 1;
        self.time += lr;
        self.loss = loss;
        self.grad_norm_step = None;
        Ok(true)
    }

    /// [`Trainer::advance`] for a multi-stage rule (e.g. the `flow` integrator): S stages per
    /// matrix with a gradient evaluation between consecutive stages, then the rule's
    /// step-size control; a rejected step is retried from the same start with the smaller step
    /// size. The gradient after the last evaluation is the one at the accepted point (the
    /// rules are first-same-as-last), so the next step starts without an extra evaluation.
    fn advance_staged(&mut self) -> Result<bool, crate::Error> {
        const MAX_REJECTIONS: usize = 200;
        let count: usize = self.bufs[self.cur]
            .mats
            .iter()
            .map(|m| m.nrows() * m.ncols())
            .sum();
        let remaining = self.max_time - self.time;
        let mut dt = self.next_dt.min(remaining);
        for _ in 0..MAX_REJECTIONS {
            let (a, b) = self.bufs.split_at_mut(1);
            let (cur, next) = if self.cur == 0 {
                (&a[0], &mut b[0])
            } else {
                (&b[0], &mut a[0])
            };
            for (n, c) in next.mats.iter_mut().zip(&cur.mats) {
                n.copy_from(c);
            }
            let at = |tensor| StepInfo {
                step: self.step + 1,
                lr: dt,
                tensor,
            };
            let mut err_sq = 0.0;
            let mut loss = self.loss;
            let mut finite = true;
            for stage in 0..self.stages {
                for (i, state) in self.state.iter_mut().enumerate() {
                    self.optimizer.stage(
                        at(i),
                        stage,
                        next.mats[i].as_mut(),
                        self.grad.mats[i].as_ref(),
                        state,
                        &mut err_sq,
                    )?;
                }
                if stage + 1 < self.stages {
                    loss = self.ws.loss_and_grad(&self.spec, next, &mut self.grad);
                    if !loss.is_finite() {
                        finite = false;
                        break;
                    }
                }
            }
            let err_rms = if finite && count > 0 {
                (err_sq / count as f64).sqrt()
            } else if finite {
                0.0
            } else {
                f64::INFINITY
            };
            let (accept, proposal) = self.optimizer.control(dt, err_rms)?;
            if accept && finite && err_rms.is_finite() {
                self.cur = 1 - self.cur;
                self.step += 1;
                // The last step of a bounded run ends exactly at max_time.
                self.time = if dt >= remaining {
                    self.max_time
                } else {
                    self.time + dt
                };
                self.loss = loss;
                self.grad_norm_step = None;
                self.next_dt = proposal;
                return Ok(true);
            }
            // Rejected: the gradient buffer holds a stage's; restore the start's.
            let start = &self.bufs[self.cur];
            self.loss = self.ws.loss_and_grad(&self.spec, start, &mut self.grad);
            dt = proposal.min(remaining);
            if dt.is_nan() || dt <= 0.0 || dt < 1e-14 * self.time.max(1.0) {
                break;
            }
        }
        self.next_dt = dt;
        self.staged_failure = Some(format!(
            "step {}: no step size accepted (200 rejections in a row or the step size underflowed, last tried {dt:e}); kept the state of step {} (time {})",
            self.step + 1,
            self.step,
            self.time
        ));
        Ok(false)
    }

    /// [`Trainer::advance`] with the fused step (see [`fused`]): the optimiser updates H1 and
    /// W_L out of place, the d x d matrices are proposed, checked and only then written.
    fn advance_fused(&mut self) -> Result<bool, crate::Error> {
        let layers = self.spec.layers;
        let lr = self.schedule.lr(self.step + 1);
        let step = self.step + 1;
        let Some(f) = self.fused.as_mut() else {
            return Ok(false);
        };
        let (a, b) = self.bufs.split_at_mut(1);
        let (cur, cand) = (&mut a[0], &mut b[0]);
        // H1 (d x N) and W_L across the threads, as in `advance`.
        for i in [0, layers] {
            let at = StepInfo {
                step,
                lr,
                tensor: i,
            };
            crate::optim::update_tensor(
                self.optimizer.as_mut(),
                at,
                cur.mats[i].as_ref(),
                cand.mats[i].as_mut(),
                self.grad.mats[i].as_ref(),
                &mut self.state[i],
                self.opts.par,
            )?;
        }
        if let Some(sampler) = &mut self.sampler {
            f.set_batch(sampler.next_batch());
        }
        let (fit, bound) = f.propose(&self.spec, step, lr, cur, cand, &self.state);
        if !fit.is_finite() {
            return Ok(false);
        }
        if !bound.is_finite() {
            let reg = f.exact_new_reg(&self.spec, step, lr, cur, cand, &self.state);
            if !(fit + reg).is_finite() {
                return Ok(false);
            }
        }
        let loss = f.commit(
            &self.spec,
            step,
            lr,
            cur,
            cand,
            &mut self.grad,
            &mut self.state,
        );
        for i in [0, layers] {
            std::mem::swap(&mut cur.mats[i], &mut cand.mats[i]);
        }
        self.step = step;
        self.time += lr;
        self.loss = loss;
        self.grad_norm_step = None;
        Ok(true)
    }

    /// Train until a stopping rule fires. `cancel` is polled every step; `progress` is called at
    /// every recorded step.
    pub fn run(
        &mut self,
        cancel: Option<&AtomicBool>,
        progress: &mut dyn FnMut(Progress),
    ) -> Outcome {
        let start = Instant::now();
        // The starting point is a curve row when it is a record step (step 0 of a fresh run;
        // a run resumed between record steps already has its rows).
        if self.step.is_multiple_of(self.opts.record_every)
            && self.curve.last().map(|r| r.step) != Some(self.step)
        {
            let row = self.row();
            self.curve.push(row);
        }
        let mut message = None;
        let status = loop {
            if self.step >= self.opts.max_steps {
                break Status::MaxSteps;
            }
            if self.time >= self.max_time {
                message = Some(format!("reached train.max_time = {}", self.max_time));
                break Status::MaxSteps;
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                break Status::Cancelled;
            }
            match self.advance() {
                Ok(true) => {}
                Ok(false) => {
                    message = Some(self.staged_failure.take().unwrap_or_else(|| {
                        format!(
                            "non-finite loss at step {}; kept the state of step {}",
                            self.step + 1,
                            self.step
                        )
                    }));
                    break Status::Diverged;
                }
                Err(e) => {
                    message = Some(e.to_string());
                    break Status::Failed;
                }
            }
            if self.step.is_multiple_of(self.opts.record_every) {
                let row = self.row();
                self.curve.push(row);
                progress(Progress {
                    step: self.step,
                    max_steps: self.opts.max_steps,
                    loss: self.loss.loss,
                    stage: Stage::Train,
                });
                let now = self.loss.loss;
                let change = (now - self.window_start).abs() / now.abs().max(f64::MIN_POSITIVE);
                self.window_start = now;
                if self.opts.tol > 0.0 && change < self.opts.tol {
                    break Status::Converged;
                }
            }
        };
        if self.curve.last().map(|r| r.step) != Some(self.step) {
            let row = self.row();
            self.curve.push(row);
        }
        Outcome {
            status,
            steps: self.step,
            seconds: start.elapsed().as_secs_f64(),
            message,
        }
    }
}

/// Mini-batch sampling without replacement: a permutation of the N samples is drawn at the start
/// of every epoch and cut into floor(N / batch_size) consecutive batches (a remainder smaller
/// than a batch is skipped). The permutation is a Fisher-Yates shuffle driven by ChaCha8
/// seeded with `seed` on stream [`Sampler::STREAM`] (`j = next_u64() % (i + 1)`), so batches are
/// a stable function of the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sampler {
    seed: u64,
    /// 32-bit words of the generator consumed so far (its position, for checkpoints).
    word_pos: u128,
    perm: Vec<usize>,
    pos: usize,
    batch: usize,
}

impl Sampler {
    /// The ChaCha8 stream of the batch generator (initialisers use streams 0..=L).
    pub const STREAM: u64 = 1 << 40;

    pub fn new(samples: usize, batch_size: usize, seed: u64) -> Self {
        let batch = batch_size.clamp(1, samples.max(1));
        Sampler {
            seed,
            word_pos: 0,
            perm: (0..samples).collect(),
            pos: samples,
            batch,
        }
    }

    /// The batch drawn last (empty before the first draw).
    pub fn current(&self) -> &[usize] {
        if self.pos >= self.batch {
            &self.perm[self.pos - self.batch..self.pos]
        } else {
            &[]
        }
    }

    /// The next batch of column indices.
    pub fn next_batch(&mut self) -> &[usize] {
        use rand::{Rng, SeedableRng};
        if self.pos + self.batch > self.perm.len() {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(self.seed);
            rng.set_stream(Self::STREAM);
            rng.set_word_pos(self.word_pos);
            for i in (1..self.perm.len()).rev() {
                let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                self.perm.swap(i, j);
            }
            self.word_pos = rng.get_word_pos();
            self.pos = 0;
        }
        let b = &self.perm[self.pos..self.pos + self.batch];
        self.pos += self.batch;
        b
    }
}

/// (rows, cols) of every tensor of `p`.
fn shapes(p: &Params) -> Vec<(usize, usize)> {
    p.mats.iter().map(|m| (m.nrows(), m.ncols())).collect()
}

/// Euclidean norm of all entries of all matrices.
pub fn norm(p: &Params) -> f64 {
    p.mats
        .iter()
        .map(|m| crate::grad::elementwise::squared_norm(m.as_ref()))
        .sum::<f64>()
        .sqrt()
}

/// A value's name as a job file spells it (`relu`, `direct`), for messages.
fn serde_label(v: &impl Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "?".into())
}
