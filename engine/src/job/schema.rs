//! The job file's types (schema_version 1). serde parses them strictly (`deny_unknown_fields`);
//! ranges are checked afterwards in `validate`. `docs/job.schema.json` is generated from these
//! types (`ufm schema`), and a test fails when the committed copy is stale.

pub use crate::analysis::SpectrumChoice;
use crate::grad::GradPath;
use crate::model::{Activation, LossKind};
pub use crate::optim::Schedule;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A whole job file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Must be 1.
    pub schema_version: u32,
    /// Free-form name, copied into results.
    #[serde(default)]
    pub name: String,
    pub model: ModelSection,
    pub init: InitChoice,
    pub optimizer: OptimizerChoice,
    #[serde(default)]
    pub train: TrainSection,
    #[serde(default)]
    pub analysis: AnalysisSection,
    /// Real inputs (files) for a backbone run; absent: free features (the deep UFM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<super::DataSection>,
    /// The trainable MLP under the head (needs `data`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backbone: Option<super::BackboneSection>,
    /// Grid to sweep: dotted path of a scalar field -> list of values or {"range": [from, to]}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<IndexMap<String, SweepAxis>>,
}

/// The model: exactly one of `per_class` / `class_sizes`; `lambda` or both `lambda_h`, `lambda_w`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    /// K, the number of classes (>= 2). May be omitted when `class_sizes` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// n, samples per class (balanced classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_class: Option<usize>,
    /// n_1..n_K (imbalanced classes), in class order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_sizes: Option<Vec<usize>>,
    /// Feature width d (>= 1).
    pub width: usize,
    /// Number of weight matrices L (>= 1).
    pub layers: usize,
    #[serde(default = "default_activation")]
    pub activation: Activation,
    #[serde(default = "default_loss")]
    pub loss: LossKind,
    /// Weight decay on every matrix (H1 and all W_l).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_h: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_w: Option<f64>,
}

fn default_activation() -> Activation {
    Activation::Linear
}
fn default_loss() -> LossKind {
    LossKind::CrossEntropy
}
fn one() -> f64 {
    1.0
}

/// Declare an internally tagged enum (`"name": "..."`) of struct variants whose Deserialize
/// dispatches on the tag by hand: serde's derived version buffers the content and loses the
/// field path, and users should read `init.std: invalid type ...`, not just `init: ...`.
macro_rules! tagged_by_name {
    ($(#[$doc:meta])* $enum:ident { $($(#[$vdoc:meta])* $variant:ident($inner:ident) = $tag:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Serialize, JsonSchema)]
        #[serde(tag = "name", rename_all = "snake_case")]
        pub enum $enum {
            $($(#[$vdoc])* $variant($inner),)+
        }

        impl<'de> Deserialize<'de> for $enum {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                let mut v = serde_json::Value::deserialize(d)?;
                let obj = v.as_object_mut().ok_or_else(|| D::Error::custom("must be an object"))?;
                let name = match obj.remove("name") {
                    Some(serde_json::Value::String(s)) => s,
                    Some(_) => return Err(D::Error::custom(super::errors::nested_message("name", "must be a string"))),
                    None => return Err(D::Error::custom("missing field `name`")),
                };
                match name.as_str() {
                    $($tag => serde_path_to_error::deserialize(v)
                        .map($enum::$variant)
                        .map_err(|e| D::Error::custom(super::errors::nested(&e))),)+
                    other => Err(D::Error::custom(super::errors::nested_message(
                        "name",
                        &format!(
                            "unknown variant `{other}`, expected one of {}",
                            [$(concat!("`", $tag, "`")),+].join(", ")
                        ),
                    ))),
                }
            }
        }
    };
}

tagged_by_name!(
    /// A built-in initialiser. Every random initialiser draws matrix i (0 = H1, l = W_l) from its
    /// own ChaCha8 stream keyed by `seed`, so adding layers never changes the earlier matrices.
    /// `multiplier` scales every matrix afterwards (small-initialisation studies).
    BuiltinInit {
        /// Every entry i.i.d. N(0, std^2).
        Gaussian(GaussianInit) = "gaussian",
        /// Every entry i.i.d. N(0, (scale / sqrt(fan_in))^2), fan_in = d for every matrix.
        Scaled(ScaledInit) = "scaled",
        /// Random matrices with orthonormal columns (or rows, when wide), times `gain`.
        Orthogonal(OrthogonalInit) = "orthogonal",
        /// Matrices read from `dir`/H1.npy, W1.npy, ... (float64, C or Fortran order).
        Npy(NpyInit) = "npy",
        /// The paper's DNC solution (logits alpha (I - 11^T/K) kron 1_n^T) with Lemma-1-aligned
        /// parameters and random orthogonal frames, plus optional Gaussian noise. Linear models.
        Dnc(StructuredInit) = "dnc",
        /// The paired low-rank solution of Eq. (5) at logit scale beta, aligned as for `dnc`.
        LowRank(StructuredInit) = "low_rank",
    }
);

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrthogonalInit {
    #[serde(default = "one")]
    pub gain: f64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub multiplier: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StructuredInit {
    /// The logit scale: alpha for `dnc`, beta for `low_rank` (>= 0).
    pub scale: f64,
    /// Standard deviation of Gaussian noise added to every entry (0 = none).
    #[serde(default)]
    pub noise: f64,
    /// Seeds the random frames (and the noise).
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub multiplier: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GaussianInit {
    pub std: f64,
    #[serde(default)]
    pub seed: u64,
    /// Scales every matrix after drawing (small-initialisation studies).
    #[serde(default = "one")]
    pub multiplier: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaledInit {
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub multiplier: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NpyInit {
    /// Folder with H1.npy, W1.npy, ...; relative paths are resolved against the job file's folder.
    pub dir: String,
    #[serde(default = "one")]
    pub multiplier: f64,
}

/// An initialiser plugin: `{"plugin": "path/to/lib.so", "id": "org.example.x", "params": {...}}`.
/// `params` go to the plugin raw; `seed` and `multiplier` are applied by the host.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InitPluginRef {
    /// Path of the library (relative paths: against the job file's folder).
    pub plugin: String,
    pub id: String,
    #[serde(default)]
    pub params: serde_json::Value,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "one")]
    pub multiplier: f64,
}

/// An optimiser plugin. `params` go to the plugin raw; `lr`, `schedule` and `batch_size`
/// (mini-batches, as for `sgd`) are applied by the host.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimizerPluginRef {
    /// Path of the library (relative paths: against the job file's folder).
    pub plugin: String,
    pub id: String,
    #[serde(default)]
    pub params: serde_json::Value,
    /// Base learning rate (> 0).
    pub lr: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
    /// Mini-batch size (default: every sample, i.e. full-batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
}

tagged_by_name!(
    /// A built-in optimiser (the `ufm-plugin-std` rules, linked in). All take `lr` and an
    /// optional `schedule`.
    BuiltinOptimizer {
        /// Full-batch gradient descent: X <- X - lr dL/dX for every matrix.
        Gd(GdConfig) = "gd",
        /// Mini-batch gradient descent: the fit term averaged over `batch_size` samples drawn
        /// without replacement per epoch; weight decay on every matrix every step.
        Sgd(SgdConfig) = "sgd",
        /// Heavy-ball momentum (PyTorch convention).
        Momentum(MomentumConfig) = "momentum",
        /// Nesterov momentum (PyTorch convention).
        Nesterov(NesterovConfig) = "nesterov",
        /// Adam with bias correction.
        Adam(AdamConfig) = "adam",
        /// AdamW: Adam with decoupled weight decay.
        Adamw(AdamwConfig) = "adamw",
        /// The gradient flow dW/dt = -grad L, integrated by an adaptive embedded Runge-Kutta
        /// pair; `lr` is the first step size tried (the controller adapts it), curve.csv's
        /// `time` column the flow time. No schedule.
        Flow(FlowConfig) = "flow",
    }
);

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GdConfig {
    /// Learning rate (> 0).
    pub lr: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SgdConfig {
    pub lr: f64,
    /// Samples per step, 1..=N (N = every sample: exactly `gd`).
    pub batch_size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

/// A built-in optimiser's section: the host's `lr` and `schedule` around the rule's own
/// parameters `R`, the `ufm-plugin-std` type that the rule itself parses (`Momentum`, `Adam`,
/// ...). The fields, defaults and docs of the parameters are therefore defined once, in
/// plugin-std, and the JSON Schema is generated from them.
///
/// Written out like a flat struct (`{"lr": .., "momentum": .., "schedule": ..}`), and read as
/// one with unknown fields refused: the host's fields are taken out first, the rest must be
/// exactly `R`'s (serde cannot combine `flatten` with `deny_unknown_fields`, hence the hand
/// written Deserialize).
#[derive(Clone, Debug, Serialize)]
pub struct RuleConfig<R> {
    pub lr: f64,
    #[serde(flatten)]
    pub rule: R,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

pub type MomentumConfig = RuleConfig<ufm_plugin_std::optim::Momentum>;
pub type NesterovConfig = RuleConfig<ufm_plugin_std::optim::Nesterov>;
pub type AdamConfig = RuleConfig<ufm_plugin_std::optim::Adam>;
pub type AdamwConfig = RuleConfig<ufm_plugin_std::optim::AdamW>;

/// The property names of `R`'s schema, in order.
fn rule_fields<R: JsonSchema>() -> Vec<String> {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<R>();
    schema
        .get("properties")
        .and_then(|p| p.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

impl<'de, R: serde::de::DeserializeOwned + JsonSchema> Deserialize<'de> for RuleConfig<R> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut map = serde_json::Map::deserialize(d)?;
        let lr = map
            .remove("lr")
            .ok_or_else(|| D::Error::missing_field("lr"))?;
        let lr: f64 = serde_path_to_error::deserialize(lr)
            .map_err(|e| D::Error::custom(super::errors::nested_under("lr", &e)))?;
        let schedule: Option<Schedule> = match map.remove("schedule") {
            Some(v) => serde_path_to_error::deserialize(v)
                .map_err(|e| D::Error::custom(super::errors::nested_under("schedule", &e)))?,
            None => None,
        };
        // R knows only its own fields; an unknown one is found here, from the keys, and
        // listed with the host's fields too, as a flat struct would list them.
        let fields = rule_fields::<R>();
        if let Some(field) = map.keys().find(|k| !fields.contains(k)) {
            let names: Vec<String> = std::iter::once("lr".to_string())
                .chain(fields.iter().cloned())
                .chain(std::iter::once("schedule".to_string()))
                .map(|n| format!("`{n}`"))
                .collect();
            return Err(D::Error::custom(super::errors::nested_message(
                field,
                &format!(
                    "unknown field `{field}`, expected one of {}",
                    names.join(", ")
                ),
            )));
        }
        let rule: R = serde_path_to_error::deserialize(serde_json::Value::Object(map))
            .map_err(|e| D::Error::custom(super::errors::nested(&e)))?;
        Ok(RuleConfig { lr, rule, schedule })
    }
}

impl<R: JsonSchema> JsonSchema for RuleConfig<R> {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("RuleConfig_{}", R::schema_name()).into()
    }
    fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let rule = R::json_schema(g);
        let mut props = serde_json::Map::new();
        props.insert("lr".into(), g.subschema_for::<f64>().to_value());
        if let Some(p) = rule.get("properties").and_then(|p| p.as_object()) {
            props.extend(p.clone());
        }
        props.insert(
            "schedule".into(),
            g.subschema_for::<Option<Schedule>>().to_value(),
        );
        let mut required = vec![serde_json::Value::from("lr")];
        if let Some(r) = rule.get("required").and_then(|r| r.as_array()) {
            required.extend(r.iter().cloned());
        }
        schemars::json_schema!({
            "type": "object",
            "properties": props,
            "additionalProperties": false,
            "required": required,
        })
    }
}

fn flow_rtol() -> f64 {
    1e-6
}
fn flow_atol() -> f64 {
    1e-9
}

/// `flow`: see docs/job.md (why these tolerances).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowConfig {
    /// The first step size tried (> 0); the error control adapts it.
    pub lr: f64,
    /// Relative local error tolerance, in (0, 1).
    #[serde(default = "flow_rtol")]
    pub rtol: f64,
    /// Absolute local error tolerance, >= 0.
    #[serde(default = "flow_atol")]
    pub atol: f64,
    /// `dopri5` (Dormand-Prince 5(4), the default) or `bs32` (Bogacki-Shampine 3(2)).
    #[serde(default)]
    pub method: FlowMethod,
}

/// `flow.method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlowMethod {
    #[default]
    Dopri5,
    Bs32,
}

impl BuiltinOptimizer {
    /// The `ufm-plugin-std` id of this rule (the same as its name).
    pub fn id(&self) -> &'static str {
        match self {
            BuiltinOptimizer::Gd(_) => "gd",
            BuiltinOptimizer::Sgd(_) => "sgd",
            BuiltinOptimizer::Momentum(_) => "momentum",
            BuiltinOptimizer::Nesterov(_) => "nesterov",
            BuiltinOptimizer::Adam(_) => "adam",
            BuiltinOptimizer::Adamw(_) => "adamw",
            BuiltinOptimizer::Flow(_) => "flow",
        }
    }

    /// The plugin params (everything but the host's `lr`, `schedule`, `batch_size`).
    pub fn plugin_params(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).expect("config serialises");
        if let Some(o) = v.as_object_mut() {
            for k in ["name", "lr", "schedule", "batch_size"] {
                o.remove(k);
            }
        }
        v
    }

    /// The rule's own parameter ranges, checked by the rule's code in `ufm-plugin-std` (what
    /// creating the rule checks too) on this typed section: the field comes apart from the
    /// message, so validation names `optimizer.<field>` without reading the text.
    pub fn check_params(&self) -> Result<(), ufm_plugin_std::optim::ParamError> {
        match self {
            BuiltinOptimizer::Gd(_) | BuiltinOptimizer::Sgd(_) => Ok(()),
            BuiltinOptimizer::Momentum(c) => c.rule.check(),
            BuiltinOptimizer::Nesterov(c) => c.rule.check(),
            BuiltinOptimizer::Adam(c) => c.rule.check(),
            BuiltinOptimizer::Adamw(c) => c.rule.check(),
            BuiltinOptimizer::Flow(c) => ufm_plugin_std::flow::check_tolerances(c.rtol, c.atol),
        }
    }

    /// (lr, schedule, batch_size): what the host applies.
    pub fn host_settings(&self) -> (f64, Option<&Schedule>, Option<usize>) {
        match self {
            BuiltinOptimizer::Gd(c) => (c.lr, c.schedule.as_ref(), None),
            BuiltinOptimizer::Sgd(c) => (c.lr, c.schedule.as_ref(), Some(c.batch_size)),
            BuiltinOptimizer::Momentum(c) => (c.lr, c.schedule.as_ref(), None),
            BuiltinOptimizer::Nesterov(c) => (c.lr, c.schedule.as_ref(), None),
            BuiltinOptimizer::Adam(c) => (c.lr, c.schedule.as_ref(), None),
            BuiltinOptimizer::Adamw(c) => (c.lr, c.schedule.as_ref(), None),
            BuiltinOptimizer::Flow(c) => (c.lr, None, None),
        }
    }
}

macro_rules! builtin_or_plugin {
    ($(#[$doc:meta])* $name:ident, $builtin:ident, $plugin:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Serialize)]
        #[serde(untagged)]
        pub enum $name {
            Builtin($builtin),
            Plugin($plugin),
        }

        impl<'de> Deserialize<'de> for $name {
            /// Dispatch on the presence of `plugin` instead of serde's untagged matching, so that
            /// a mistake inside a built-in reports its own field instead of "no variant matched".
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = serde_json::Value::deserialize(d)?;
                let plugin = v.get("plugin").is_some();
                let result = if plugin {
                    serde_path_to_error::deserialize(v).map($name::Plugin)
                } else {
                    serde_path_to_error::deserialize(v).map($name::Builtin)
                };
                result.map_err(|e| serde::de::Error::custom(super::errors::nested(&e)))
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn json_schema(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "anyOf": [g.subschema_for::<$builtin>(), g.subschema_for::<$plugin>()]
                })
            }
        }
    };
}

builtin_or_plugin!(
    /// `init`: a built-in initialiser by `name`, or a plugin.
    InitChoice,
    BuiltinInit,
    InitPluginRef
);
builtin_or_plugin!(
    /// `optimizer`: a built-in optimiser by `name`, or a plugin.
    OptimizerChoice,
    BuiltinOptimizer,
    OptimizerPluginRef
);

/// Stopping rules and recording.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainSection {
    /// Upper bound on optimiser steps (status `max_steps` when reached).
    #[serde(default = "default_max_steps")]
    pub max_steps: u64,
    /// Stop (status `converged`) when |L(t) - L(t - record_every)| / |L(t)| < tol at a record
    /// step; 0 disables the rule.
    #[serde(default = "default_tol")]
    pub tol: f64,
    /// A curve row every this many steps (and at the last step).
    #[serde(default = "default_record_every")]
    pub record_every: u64,
    /// Gradient algorithm: `auto` (factored for linear models), `factored` or `layered`.
    #[serde(default)]
    pub grad_path: GradPath,
    /// Refuse models whose estimated memory exceeds this many GiB.
    #[serde(default = "default_memory")]
    pub max_memory_gib: f64,
    /// How the d x d weights are updated: `auto` (fused for linear models with layers >= 2,
    /// width >= 1024 and gd, sgd or momentum by name), `fused` (one pass per matrix that applies
    /// the rank-K gradient, decay and update in place; an error where it does not apply) or
    /// `separate` (gradient, then update into a second buffer; bit-identical to plugins loaded
    /// by path). See docs/job.md.
    #[serde(default)]
    pub update: crate::train::UpdateMode,
    /// Stop (status `max_steps`) once the integration time (the sum of the step sizes, curve.csv
    /// `time`) reaches this; the `flow` optimiser ends exactly there. Default: no bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time: Option<f64>,
    /// Also record the singular values of H1 and every W_l at every record step into
    /// spectra.csv (one dense SVD per matrix per record step). Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub record_spectra: bool,
    /// Threads inside this run (faer's parallel matrix products), 1..=1024, default 1. Results are
    /// bit-identical whatever the count; only `1` keeps the step loop free of allocations. See
    /// docs/job.md. Not written when 1, so that a job's hash (sweep records, `--resume`) is
    /// the one it had before this field existed.
    #[serde(default = "default_threads", skip_serializing_if = "is_one")]
    pub threads: usize,
}

fn default_threads() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

fn default_max_steps() -> u64 {
    100_000
}
fn default_tol() -> f64 {
    1e-12
}
fn default_record_every() -> u64 {
    100
}
fn default_memory() -> f64 {
    4.0
}

impl Default for TrainSection {
    fn default() -> Self {
        TrainSection {
            max_steps: default_max_steps(),
            tol: default_tol(),
            record_every: default_record_every(),
            grad_path: GradPath::Auto,
            max_memory_gib: default_memory(),
            update: Default::default(),
            threads: default_threads(),
            max_time: None,
            record_spectra: false,
        }
    }
}

/// End-of-run analysis options.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalysisSection {
    /// Relative rank tolerance: rank counts singular values > rank_tol * the largest.
    #[serde(default = "default_rank_tol")]
    pub rank_tol: f64,
    /// Also report the Hessian at the final parameters (`hessian` in result.json; spectrum,
    /// flatness, symmetry dimension: see docs/theory.md). Default false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hessian: bool,
    /// How singular values are found: `auto` (the default: `top` for matrices with at least
    /// 1024 rows and columns, falling back to `full` when the matrix is not numerically low-rank), `full`
    /// (every singular value, dense SVD, O(d^3)) or `top` (only those above rank_tol times the
    /// largest, certified partial method, O(d^2 r); falls back to `full` above r ~ d/2).
    /// result.json records per matrix which one ran (`spectrum`, `singular_value_count`).
    #[serde(default)]
    pub spectrum: SpectrumChoice,
}

fn default_rank_tol() -> f64 {
    1e-6
}

impl Default for AnalysisSection {
    fn default() -> Self {
        AnalysisSection {
            rank_tol: default_rank_tol(),
            hessian: false,
            spectrum: SpectrumChoice::Auto,
        }
    }
}

/// One sweep axis: an explicit list of values, or an integer range (`to` exclusive).
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum SweepAxis {
    List(Vec<serde_json::Value>),
    Range {
        /// [from, to): integers, to exclusive.
        range: [i64; 2],
    },
}

/// The range form, strict: `{"range": [from, to]}` and no other key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeAxis {
    range: [i64; 2],
}

impl<'de> Deserialize<'de> for SweepAxis {
    /// A list, or an object with exactly the key `range` (serde's untagged matching would
    /// accept and ignore unknown keys next to `range`).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        match v {
            serde_json::Value::Array(values) => Ok(SweepAxis::List(values)),
            serde_json::Value::Object(_) => serde_path_to_error::deserialize::<_, RangeAxis>(v)
                .map(|r| SweepAxis::Range { range: r.range })
                .map_err(|e| D::Error::custom(super::errors::nested(&e))),
            _ => Err(D::Error::custom(
                "must be a list of values or {\"range\": [from, to]}",
            )),
        }
    }
}

impl From<&AnalysisSection> for crate::analysis::AnalysisOptions {
    fn from(a: &AnalysisSection) -> Self {
        crate::analysis::AnalysisOptions {
            rank_tol: a.rank_tol,
            spectrum: a.spectrum,
        }
    }
}
