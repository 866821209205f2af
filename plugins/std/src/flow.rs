//! `flow`: the gradient flow dW/dt = -grad L(W), integrated by an adaptive embedded explicit
//! Runge-Kutta pair through the multi-stage plugin ABI (minor 1: `stages`, `stage`, `control`).
//!
//! Methods (both first-same-as-last, so a step costs S - 1 gradient evaluations):
//! - `dopri5` (default): Dormand-Prince 5(4), 7 stages, 6 evaluations per step; the 5th-order
//!   solution is propagated.
//! - `bs32`: Bogacki-Shampine 3(2), 4 stages, 3 evaluations per step.
//!
//! Error control (Hairer, Norsett & Wanner, Solving ODEs I, II.4): with y0 the step's start, y1
//! the proposal and e = y1 - y1_hat the embedded difference, the host sums
//! (e_i / (atol + rtol max(|y0_i|, |y1_i|)))^2 over every parameter and passes the RMS; a step is
//! accepted when it is <= 1, and the next step size is dt 0.9 err^(-1/(q+1)) (q the embedded
//! order), clamped to [dt / 5, 5 dt] (and to at most dt after a rejection).
//!
//! Defaults rtol = 1e-6, atol = 1e-9: the flow is the reference that gradient descent at a finite
//! learning rate is compared with, whose deviation from it is O(lr) (relative 1e-1..1e-3 at the
//! rates of interest); a local relative tolerance of 1e-6 keeps the integration error orders of
//! magnitude below that, while in the long slow phases of training the step size is bounded
//! by stability (the largest Hessian eigenvalue), not accuracy, so tighter tolerances cost
//! little there. atol = 1e-9 keeps the scale positive for entries passing through zero without
//! dominating entries of size >= 1e-3 (small initialisations).
//!
//! State per matrix of n entries: y0 (n values) and the S stage derivatives (S n values).

use crate::optim::ParamError;
use serde::Deserialize;
use ufm_plugin_sdk::{parse_params, MatMut, MatRef, Optimizer};

/// An embedded explicit Runge-Kutta pair with the FSAL property (last row of `a` = `b`).
struct Tableau {
    /// a[i][j], j < i: stage i's point is y0 + dt sum_j a[i][j] k_j.
    a: &'static [&'static [f64]],
    /// Propagated weights (= the last row of `a`, with b[S-1] = 0).
    b: &'static [f64],
    /// Embedded weights.
    b_hat: &'static [f64],
    /// Order of the embedded solution (the error estimate's order is q + 1).
    q: u32,
}

const DOPRI5: Tableau = Tableau {
    a: &[
        &[],
        &[1.0 / 5.0],
        &[3.0 / 40.0, 9.0 / 40.0],
        &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
        &[
            19372.0 / 6561.0,
            -25360.0 / 2187.0,
            64448.0 / 6561.0,
            -212.0 / 729.0,
        ],
        &[
            9017.0 / 3168.0,
            -355.0 / 33.0,
            46732.0 / 5247.0,
            49.0 / 176.0,
            -5103.0 / 18656.0,
        ],
        &[
            35.0 / 384.0,
            0.0,
            500.0 / 1113.0,
            125.0 / 192.0,
            -2187.0 / 6784.0,
            11.0 / 84.0,
        ],
    ],
    b: &[
        35.0 / 384.0,
        0.0,
        500.0 / 1113.0,
        125.0 / 192.0,
        -2187.0 / 6784.0,
        11.0 / 84.0,
        0.0,
    ],
    b_hat: &[
        5179.0 / 57600.0,
        0.0,
        7571.0 / 16695.0,
        393.0 / 640.0,
        -92097.0 / 339200.0,
        187.0 / 2100.0,
        1.0 / 40.0,
    ],
    q: 4,
};

const BS32: Tableau = Tableau {
    a: &[
        &[],
        &[1.0 / 2.0],
        &[0.0, 3.0 / 4.0],
        &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0],
    ],
    b: &[2.0 / 9.0, 1.0 / 3.0, 4.0 / 9.0, 0.0],
    b_hat: &[7.0 / 24.0, 1.0 / 4.0, 1.0 / 3.0, 1.0 / 8.0],
    q: 2,
};

fn default_rtol() -> f64 {
    1e-6
}
fn default_atol() -> f64 {
    1e-9
}

/// The method's name in the job (`params.method`).
#[derive(Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    #[default]
    Dopri5,
    Bs32,
}

/// Gradient flow by an adaptive embedded Runge-Kutta pair (see the module docs).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    #[serde(default = "default_rtol")]
    pub rtol: f64,
    #[serde(default = "default_atol")]
    pub atol: f64,
    #[serde(default)]
    pub method: Method,
}

impl Flow {
    fn tableau(&self) -> &'static Tableau {
        match self.method {
            Method::Dopri5 => &DOPRI5,
            Method::Bs32 => &BS32,
        }
    }
}

/// The tolerances' ranges `create` enforces: rtol in (0, 1), atol finite and >= 0 (a free
/// function: the engine's job section for `flow` is its own type).
pub fn check_tolerances(rtol: f64, atol: f64) -> Result<(), ParamError> {
    if !(rtol.is_finite() && rtol > 0.0 && rtol < 1.0) {
        return Err(ParamError {
            field: "rtol",
            message: format!("must be in (0, 1), got {rtol}"),
        });
    }
    if !(atol.is_finite() && atol >= 0.0) {
        return Err(ParamError {
            field: "atol",
            message: format!("must be finite and >= 0, got {atol}"),
        });
    }
    Ok(())
}

impl Optimizer for Flow {
    fn create(params: &serde_json::Value) -> Result<Self, String> {
        let f: Self = parse_params(params)?;
        check_tolerances(f.rtol, f.atol)?;
        Ok(f)
    }

    fn state_len(&self, rows: usize, cols: usize) -> usize {
        rows.saturating_mul(cols)
            .saturating_mul(self.tableau().b.len() + 1)
    }

    /// A classic single update is not how this rule runs (the host uses `stage`); refuse it so
    /// that a host without the minor-1 ABI fails clearly instead of integrating wrongly.
    fn update(
        &self,
        _: u64,
        _: f64,
        _: MatMut<'_>,
        _: MatRef<'_>,
        _: &mut [f64],
    ) -> Result<(), String> {
        Err("flow needs a host with the multi-stage plugin ABI (minor >= 1)".into())
    }

    fn stages(&self) -> u32 {
        self.tableau().b.len() as u32
    }

    fn stage(
        &self,
        _step: u64,
        dt: f64,
        stage: u32,
        mut param: MatMut<'_>,
        grad: MatRef<'_>,
        state: &mut [f64],
        err_sq: &mut f64,
    ) -> Result<(), String> {
        let tab = self.tableau();
        let s_count = tab.b.len();
        let (rows, cols) = (param.rows(), param.cols());
        let n = rows * cols;
        if (grad.rows(), grad.cols()) != (rows, cols) || state.len() != n * (s_count + 1) {
            return Err(format!(
                "flow: shapes disagree (param {rows} x {cols}, grad {} x {}, state {})",
                grad.rows(),
                grad.cols(),
                state.len()
            ));
        }
        let s = stage as usize;
        if s >= s_count {
            return Err(format!("flow: stage {s} out of range 0..{s_count}"));
        }
        let (y0, ks) = state.split_at_mut(n);
        for j in 0..cols {
            for i in 0..rows {
                let e = j * rows + i;
                if s == 0 {
                    y0[e] = param.get(i, j);
                }
                ks[s * n + e] = -grad.get(i, j);
            }
        }
        if s + 1 < s_count {
            // The next stage's point.
            let a = tab.a[s + 1];
            for j in 0..cols {
                for i in 0..rows {
                    let e = j * rows + i;
                    let mut inc = 0.0;
                    for (m, &w) in a.iter().enumerate() {
                        inc += w * ks[m * n + e];
                    }
                    param.set(i, j, y0[e] + dt * inc);
                }
            }
        } else {
            // param holds y1 (FSAL: the previous stage wrote y0 + dt sum b_j k_j).
            let mut acc = 0.0;
            for j in 0..cols {
                for i in 0..rows {
                    let e = j * rows + i;
                    let mut diff = 0.0;
                    for m in 0..s_count {
                        diff += (tab.b[m] - tab.b_hat[m]) * ks[m * n + e];
                    }
                    let y1 = param.get(i, j);
                    let sc = self.atol + self.rtol * y0[e].abs().max(y1.abs());
                    let r = dt * diff / sc;
                    acc += r * r;
                }
            }
            *err_sq += acc;
        }
        Ok(())
    }

    fn control(&self, dt: f64, err_rms: f64) -> Result<(bool, f64), String> {
        let accept = err_rms <= 1.0;
        let fac = if err_rms.is_nan() || err_rms.is_infinite() {
            0.2
        } else if err_rms == 0.0 {
            5.0
        } else {
            (0.9 * err_rms.powf(-1.0 / (self.tableau().q as f64 + 1.0))).clamp(0.2, 5.0)
        };
        let fac = if accept { fac } else { fac.min(1.0) };
        Ok((accept, dt * fac))
    }
}
