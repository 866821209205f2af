//! Learning-rate schedules, applied by the host to every optimiser (built-in or plugin).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A learning-rate schedule, applied by the host to any optimiser. Step t = 1, 2, ...; u = t - 1.
/// Every kind takes `warmup` [0]: for t <= warmup the rate is multiplied by t / warmup.
// "[0]" is the default in the words of the job docs (the text is the JSON Schema's description).
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// lr.
    Constant {
        #[serde(default)]
        warmup: u64,
    },
    /// lr * gamma^floor(u / every).
    Step {
        every: u64,
        #[serde(default = "half")]
        gamma: f64,
        #[serde(default)]
        warmup: u64,
    },
    /// min_lr + (lr - min_lr) (1 + cos(pi min(u, steps) / steps)) / 2; `steps` defaults to
    /// `train.max_steps`.
    Cosine {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        steps: Option<u64>,
        #[serde(default)]
        min_lr: f64,
        #[serde(default)]
        warmup: u64,
    },
}

fn half() -> f64 {
    0.5
}

/// The learning rate of each step: a base rate and an optional [`Schedule`].
#[derive(Clone, Debug, PartialEq)]
pub struct LrSchedule {
    pub base: f64,
    pub schedule: Option<Schedule>,
    /// `cosine`'s default length (the run's `max_steps`).
    pub max_steps: u64,
}

impl LrSchedule {
    pub fn constant(base: f64) -> Self {
        LrSchedule {
            base,
            schedule: None,
            max_steps: 1,
        }
    }

    /// The rate for update `step` (1-based).
    pub fn lr(&self, step: u64) -> f64 {
        let u = step.saturating_sub(1);
        let (rate, warmup) = match &self.schedule {
            None => (self.base, 0),
            Some(Schedule::Constant { warmup }) => (self.base, *warmup),
            Some(Schedule::Step {
                every,
                gamma,
                warmup,
            }) => {
                let k = u / (*every).max(1);
                (self.base * gamma.powf(k as f64), *warmup)
            }
            Some(Schedule::Cosine {
                steps,
                min_lr,
                warmup,
            }) => {
                let total = steps.unwrap_or(self.max_steps).max(1);
                let x = u.min(total) as f64 / total as f64;
                let c = 0.5 * (1.0 + (std::f64::consts::PI * x).cos());
                (min_lr + (self.base - min_lr) * c, *warmup)
            }
        };
        if warmup > 0 && step <= warmup {
            rate * step as f64 / warmup as f64
        } else {
            rate
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(schedule: Schedule) -> LrSchedule {
        LrSchedule {
            base: 1.0,
            schedule: Some(schedule),
            max_steps: 100,
        }
    }

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(LrSchedule::constant(0.5).lr(1000), 0.5);
        let step = s(Schedule::Step {
            every: 10,
            gamma: 0.1,
            warmup: 0,
        });
        assert_eq!(step.lr(1), 1.0);
        assert_eq!(step.lr(10), 1.0);
        assert!((step.lr(11) - 0.1).abs() < 1e-15);
        assert!((step.lr(21) - 0.01).abs() < 1e-15);
        let cos = s(Schedule::Cosine {
            steps: None,
            min_lr: 0.1,
            warmup: 0,
        });
        assert_eq!(cos.lr(1), 1.0);
        assert!(
            (cos.lr(51) - 0.55).abs() < 1e-12,
            "half way: {}",
            cos.lr(51)
        );
        assert!((cos.lr(101) - 0.1).abs() < 1e-15);
        assert!((cos.lr(500) - 0.1).abs() < 1e-15, "stays at min_lr");
        let warm = s(Schedule::Constant { warmup: 4 });
        assert_eq!(
            (1..=5).map(|t| warm.lr(t)).collect::<Vec<_>>(),
            vec![0.25, 0.5, 0.75, 1.0, 1.0]
        );
    }
}
