use serde::{Deserialize, Serialize};

/// Nonlinearity applied after W_1..W_{L-1} (never after W_L, never to H1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Linear,
    Relu,
}

/// The fit term g(Z).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Mean softmax cross-entropy over the N columns.
    CrossEntropy,
    /// 1/(2N) ||Z - Y||_F^2 with one-hot Y.
    Mse,
}

/// A validated deep-UFM model: everything that fixes the loss function.
///
/// Built from a job file by `job::validate`; constructing one by hand is fine for tests and
/// embedding, but `check` should then be called (the gradient code relies on its invariants).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    /// n_1..n_K, samples per class, in class order (columns of H1 follow this order).
    pub class_sizes: Vec<usize>,
    /// Feature width d.
    pub width: usize,
    /// Number of weight matrices L >= 1.
    pub layers: usize,
    pub activation: Activation,
    pub loss: LossKind,
    pub lambda_h: f64,
    pub lambda_w: f64,
}

impl ModelSpec {
    /// A balanced model with equal regularisation, the paper's setting.
    pub fn balanced(
        classes: usize,
        per_class: usize,
        width: usize,
        layers: usize,
        activation: Activation,
        loss: LossKind,
        lambda: f64,
    ) -> Self {
        ModelSpec {
            class_sizes: vec![per_class; classes],
            width,
            layers,
            activation,
            loss,
            lambda_h: lambda,
            lambda_w: lambda,
        }
    }

    /// K.
    pub fn classes(&self) -> usize {
        self.class_sizes.len()
    }

    /// N = sum of class sizes.
    pub fn samples(&self) -> usize {
        self.class_sizes.iter().sum()
    }

    /// Some(n) when every class has n samples.
    pub fn per_class(&self) -> Option<usize> {
        let n = *self.class_sizes.first()?;
        self.class_sizes.iter().all(|&m| m == n).then_some(n)
    }

    /// Some(lambda) when lambda_h == lambda_w.
    pub fn lambda(&self) -> Option<f64> {
        (self.lambda_h == self.lambda_w).then_some(self.lambda_h)
    }

    /// Class label of every column, in column order.
    pub fn labels(&self) -> Vec<usize> {
        self.class_sizes
            .iter()
            .enumerate()
            .flat_map(|(c, &n)| std::iter::repeat_n(c, n))
            .collect()
    }

    /// Shapes (rows, cols) of H1, W1, ..., WL.
    pub fn shapes(&self) -> Vec<(usize, usize)> {
        let (d, k, n) = (self.width, self.classes(), self.samples());
        let mut s = vec![(d, n)];
        for l in 1..=self.layers {
            s.push((if l == self.layers { k } else { d }, d));
        }
        s
    }

    /// Total number of scalar parameters.
    pub fn parameter_count(&self) -> usize {
        self.shapes().iter().map(|(r, c)| r * c).sum()
    }

    /// Invariants the numerical code relies on: a [`crate::Error::Job`] naming the offending
    /// field (`model.width`, ...), since every spec comes from a job's `model` section.
    pub fn check(&self) -> Result<(), crate::Error> {
        let bad = |path: &str, message: String| crate::JobError::new(path, message).into();
        if self.class_sizes.len() < 2 {
            return Err(bad(
                "model.classes",
                format!("must be >= 2, got {}", self.class_sizes.len()),
            ));
        }
        if let Some(i) = self.class_sizes.iter().position(|&n| n == 0) {
            return Err(bad(
                &format!("model.class_sizes[{i}]"),
                "must be >= 1, got 0".into(),
            ));
        }
        if self.width == 0 {
            return Err(bad("model.width", "must be >= 1, got 0".into()));
        }
        if self.layers == 0 {
            return Err(bad("model.layers", "must be >= 1, got 0".into()));
        }
        for (name, v) in [("lambda_h", self.lambda_h), ("lambda_w", self.lambda_w)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(bad(
                    &format!("model.{name}"),
                    format!("must be finite and >= 0, got {v}"),
                ));
            }
        }
        Ok(())
    }
}
