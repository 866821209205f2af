//! Sweep grids: each `sweep` key is a dotted path to a scalar field of the job; the runs are the
//! cartesian product of the axes, in the order the keys are written (first key varies slowest).

use super::errors::JobError;
use super::schema::{Job, SweepAxis};
use super::validate::{parse_value, validate};
use crate::model::ModelSpec;
use indexmap::IndexMap;
use serde_json::Value;

/// The most points a sweep grid may have. Every point is validated (and, by `ufm sweep`, kept
/// in memory with its job), so a grid is counted before anything is expanded and a larger one
/// is refused with a message instead of exhausting memory; split such a study into several jobs.
pub const MAX_SWEEP_POINTS: u64 = 1_000_000;

/// One run of a sweep: the values assigned to each swept path, and the resulting job.
#[derive(Clone, Debug)]
pub struct GridPoint {
    pub assignments: IndexMap<String, Value>,
    pub job: Job,
}

/// One axis, checked: its key and how many values it has (values are produced on demand).
struct Axis<'a> {
    key: &'a str,
    axis: &'a SweepAxis,
    len: u64,
}

impl Axis<'_> {
    fn value(&self, i: u64) -> Value {
        match self.axis {
            SweepAxis::List(v) => v[i as usize].clone(),
            SweepAxis::Range { range: [from, _] } => {
                Value::from((*from as i128 + i as i128) as i64)
            }
        }
    }
}

/// Check the axes of `job.sweep` and count the grid's points without expanding it (0 when
/// there is no sweep). Counts above [`MAX_SWEEP_POINTS`] are refused.
pub fn count_points(job: &Job) -> Result<u64, JobError> {
    Ok(match axes(job)? {
        Some((_, total)) => total,
        None => 0,
    })
}

#[allow(clippy::type_complexity)]
fn axes(job: &Job) -> Result<Option<(Vec<Axis<'_>>, u64)>, JobError> {
    let Some(sweep) = &job.sweep else {
        return Ok(None);
    };
    if sweep.is_empty() {
        return Err(JobError::new("sweep", "must list at least one axis"));
    }
    let mut axes = Vec::new();
    let mut total: u64 = 1;
    for (key, axis) in sweep {
        let path = format!("sweep.{key}");
        if key == "sweep" || key.starts_with("sweep.") || key == "schema_version" {
            return Err(JobError::new(path, "cannot sweep this field"));
        }
        let len: u64 = match axis {
            SweepAxis::List(v) => {
                if let Some(i) = v.iter().position(|v| v.is_object() || v.is_array()) {
                    return Err(JobError::new(
                        format!("{path}[{i}]"),
                        "must be a scalar (number, string, bool)",
                    ));
                }
                v.len() as u64
            }
            SweepAxis::Range { range: [from, to] } => {
                u64::try_from((*to as i128 - *from as i128).max(0)).unwrap_or(u64::MAX)
            }
        };
        if len == 0 {
            return Err(JobError::new(path, "must give at least one value"));
        }
        total = total.saturating_mul(len);
        axes.push(Axis { key, axis, len });
    }
    if total > MAX_SWEEP_POINTS {
        let sizes: Vec<String> = axes.iter().map(|a| a.len.to_string()).collect();
        let shown = if total == u64::MAX {
            "more than 2^64".to_string()
        } else {
            total.to_string()
        };
        return Err(JobError::new(
            "sweep",
            format!(
                "the grid has {shown} points ({}), above the limit of {MAX_SWEEP_POINTS}; \
                 split the study into several jobs",
                sizes.join(" x ")
            ),
        ));
    }
    Ok(Some((axes, total)))
}

/// Visit the grid's points one at a time, each parsed and validated (nothing is materialised
/// beyond the current point). `visit` may stop early by returning an error, of its own type
/// (the grid's own errors are [`JobError`]s converted into it).
pub fn for_each_point<E: From<JobError>>(
    job: &Job,
    mut visit: impl FnMut(u64, GridPoint, ModelSpec) -> Result<(), E>,
) -> Result<u64, E> {
    let Some((axes, total)) = axes(job)? else {
        return Ok(0);
    };
    let mut base = serde_json::to_value(job).map_err(|e| JobError::new("", e.to_string()))?;
    if let Some(o) = base.as_object_mut() {
        o.remove("sweep");
    }
    for a in &axes {
        // Every path must name a place for a scalar in the base job.
        set_path(&mut base.clone(), a.key)?;
    }
    let mut picks = vec![0u64; axes.len()];
    for index in 0..total {
        // Last axis varies fastest.
        let mut rest = index;
        for (a, axis) in axes.iter().enumerate().rev() {
            picks[a] = rest % axis.len;
            rest /= axis.len;
        }
        let mut value = base.clone();
        let mut assignments = IndexMap::new();
        for (axis, &pick) in axes.iter().zip(&picks) {
            set_path(&mut value, axis.key)?;
            let v = axis.value(pick);
            *lookup_mut(&mut value, axis.key) = v.clone();
            assignments.insert(axis.key.to_string(), v);
        }
        let point_job = parse_value(value).map_err(|e| swept_error(&e, &axes, &picks))?;
        let spec = validate(&point_job).map_err(|e| swept_error(&e, &axes, &picks))?;
        visit(
            index,
            GridPoint {
                assignments,
                job: point_job,
            },
            spec,
        )?;
    }
    Ok(total)
}

/// Expand `job.sweep` into validated jobs (an empty list when there is no sweep). The grid is
/// counted first: more than [`MAX_SWEEP_POINTS`] points are refused before anything is built.
pub fn expand_sweep(job: &Job) -> Result<Vec<GridPoint>, JobError> {
    let total = count_points(job)?;
    let mut points = Vec::with_capacity(total as usize);
    for_each_point(job, |_, p, _| {
        points.push(p);
        Ok::<_, JobError>(())
    })?;
    Ok(points)
}

/// Blame the sweep value that produced an invalid job, when the error is in a swept field.
fn swept_error(e: &JobError, axes: &[Axis<'_>], picks: &[u64]) -> JobError {
    for (Axis { key, .. }, &pick) in axes.iter().zip(picks) {
        if e.path == *key
            || e.path.starts_with(&format!("{key}."))
            || key.starts_with(&format!("{}.", e.path))
        {
            return JobError::new(format!("sweep.{key}[{pick}]"), e.message.clone());
        }
    }
    JobError::new(format!("sweep (at {})", e.path), e.message.clone())
}

/// Make sure `dotted` names a place for a scalar: every parent is an object that exists.
/// Errors are at `sweep.<dotted>`, the sweep key that names the place.
fn set_path(root: &mut Value, dotted: &str) -> Result<(), JobError> {
    let bad = |message: String| JobError::new(format!("sweep.{dotted}"), message);
    let parts: Vec<&str> = dotted.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(bad("must be a dotted path like model.width".into()));
    }
    let mut cur = &mut *root;
    for (i, part) in parts.iter().enumerate() {
        let obj = cur
            .as_object_mut()
            .ok_or_else(|| bad(format!("`{}` is not an object", parts[..i].join("."))))?;
        if i + 1 == parts.len() {
            if let Some(existing) = obj.get(*part) {
                if existing.is_object() || existing.is_array() {
                    return Err(bad("must name a scalar field, not an object or list".into()));
                }
            } else {
                obj.insert(part.to_string(), Value::Null);
            }
            return Ok(());
        }
        cur = obj
            .get_mut(*part)
            .ok_or_else(|| bad(format!("no section `{}` in the job", parts[..=i].join("."))))?;
    }
    Ok(())
}

fn lookup_mut<'a>(root: &'a mut Value, dotted: &str) -> &'a mut Value {
    dotted.split('.').fold(root, |v, p| &mut v[p])
}
