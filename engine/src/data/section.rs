//! The job file's `data` section: which files hold the samples and how they are prepared. The
//! data layer owns these types (it reads them); `job` re-exports them as part of the job file.

use super::Standardize;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where the samples come from. With `data`, `model.per_class` / `model.class_sizes` say how
/// many samples of each class are drawn from the training file.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSection {
    /// The training file(s).
    pub train: DataSource,
    /// A separate test split (all its samples are used), for test accuracy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<DataSource>,
    /// Use the training file's samples that were not drawn for training as the test split.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub holdout: bool,
    /// Seeds the per-class subsample.
    #[serde(default)]
    pub seed: u64,
    /// `feature` (default), `global` or `none`; statistics from the training split.
    #[serde(default)]
    pub standardize: Standardize,
}

/// A data file format and its file names (relative paths: against the job file's folder).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "format", rename_all = "snake_case", deny_unknown_fields)]
pub enum DataSource {
    /// Two `.npy` files: X of shape (N, d0) (or (N, ...), flattened per sample), y of shape (N,).
    Npy { x: String, y: String },
    /// One `.npz` archive with members `x` and `y` (names without `.npy`).
    Npz {
        file: String,
        #[serde(default = "default_x")]
        x: String,
        #[serde(default = "default_y")]
        y: String,
    },
    /// MNIST's IDX images and labels files, raw or `.gz`.
    Idx { images: String, labels: String },
    /// CIFAR-10 binary batches (`data_batch_1.bin`, ...), concatenated in order.
    Cifar10 { files: Vec<String> },
}

fn default_x() -> String {
    "X".into()
}
fn default_y() -> String {
    "y".into()
}
