//! The job file's `data` and `backbone` sections: real inputs and the trainable MLP whose output
//! h(X) replaces the free features H1 (see docs/job.md, "Real data and a backbone").

pub use crate::data::{DataSection, DataSource};
use crate::model::Activation;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How the loss is regularised when a backbone computes the features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Regularization {
    /// The paper's UFM-style regularisation: lambda_h/2 ||h(X)||^2 on the features entering the
    /// head and lambda_w/2 sum ||W_l||^2 on the head; the backbone itself is not regularised.
    #[default]
    Ufm,
    /// Standard weight decay: model.lambda/2 times the squared norm of every parameter (head
    /// matrices, backbone matrices and biases); no term on h(X).
    Standard,
}

/// A trainable MLP h(x) = s(A_m s(... s(A_1 x + b_1) ...) + b_m) whose output (width
/// `model.width`) enters the deep head. Needs `data`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackboneSection {
    /// Number of affine layers m (>= 1).
    pub layers: usize,
    /// Hidden width (outputs of layers 1..m-1); the last layer outputs `model.width`.
    pub width: usize,
    /// Applied after every backbone layer, the last one included (as a ResNet's features are
    /// post-ReLU). Default `relu`.
    #[serde(default = "default_relu")]
    pub activation: Activation,
    #[serde(default)]
    pub regularization: Regularization,
    /// Initial weights are N(0, (gain / sqrt(fan_in))^2), biases 0. Default: sqrt(2) for `relu`
    /// (He), 1 for `linear`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_gain: Option<f64>,
}

fn default_relu() -> Activation {
    Activation::Relu
}

/// Cross-field rules of `data` / `backbone`; returns the head's model (lambda_h = 0 with
/// `standard` regularisation, whose single weight decay is model.lambda).
pub(crate) fn validate_backbone(
    job: &super::Job,
    mut spec: crate::model::ModelSpec,
) -> Result<crate::model::ModelSpec, super::JobError> {
    use super::{BuiltinInit, InitChoice, JobError};
    let Some(b) = &job.backbone else {
        if job.data.is_some() {
            return Err(JobError::new(
                "data",
                "needs a `backbone` (free features do not read data)",
            ));
        }
        return Ok(spec);
    };
    let Some(d) = &job.data else {
        return Err(JobError::new("backbone", "needs a `data` section"));
    };
    if b.layers < 1 {
        return Err(JobError::new(
            "backbone.layers",
            format!("must be >= 1, got {}", b.layers),
        ));
    }
    if b.width < 1 {
        return Err(JobError::new(
            "backbone.width",
            format!("must be >= 1, got {}", b.width),
        ));
    }
    if let Some(g) = b.init_gain {
        if !(g.is_finite() && g > 0.0) {
            return Err(JobError::new(
                "backbone.init_gain",
                format!("must be a finite number > 0, got {g}"),
            ));
        }
    }
    if d.holdout && d.test.is_some() {
        return Err(JobError::new(
            "data.holdout",
            "give either `test` or `holdout: true`, not both",
        ));
    }
    let files: Vec<&String> = std::iter::once(&d.train)
        .chain(d.test.as_ref())
        .flat_map(|s| match s {
            DataSource::Npy { x, y } => vec![x, y],
            DataSource::Npz { file, .. } => vec![file],
            DataSource::Idx { images, labels } => vec![images, labels],
            DataSource::Cifar10 { files } => files.iter().collect(),
        })
        .collect();
    if files.iter().any(|f| f.is_empty()) {
        return Err(JobError::new("data", "file names must not be empty"));
    }
    if let DataSource::Cifar10 { files } = &d.train {
        if files.is_empty() {
            return Err(JobError::new(
                "data.train.files",
                "must list >= 1 CIFAR-10 batch file",
            ));
        }
    }
    if let InitChoice::Builtin(BuiltinInit::Dnc(_) | BuiltinInit::LowRank(_)) = &job.init {
        return Err(JobError::new(
            "init.name",
            "`dnc` / `low_rank` construct free features; with a backbone use gaussian, scaled, \
             orthogonal, npy or a plugin",
        ));
    }
    if job.analysis.hessian {
        return Err(JobError::new(
            "analysis.hessian",
            "is not available for backbone runs (the Hessian tools assume free features)",
        ));
    }
    if b.regularization == Regularization::Standard {
        let m = &job.model;
        if m.lambda.is_none() || m.lambda_h.is_some() || m.lambda_w.is_some() {
            return Err(JobError::new(
                "model.lambda",
                "with backbone.regularization = standard give `lambda` (the one weight decay on \
                 every parameter) and neither lambda_h nor lambda_w",
            ));
        }
        spec.lambda_h = 0.0;
    }
    Ok(spec)
}
