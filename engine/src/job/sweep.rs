//! Sweep grids: each `sweep` key is a dotted path to a scalar field of the job; the runs are the
//! cartesian product of the axes, in the order the keys are written (first key varies slowest).

use super::errors::JobError;
use super::schema::{Job, SweepAxis};
use super::validate::{parse_value, validate};
use indexmap::IndexMap;
use serde_json::Value;

/// One run of a sweep: the values assigned to each swept path, and the resulting job.
#[derive(Clone, Debug)]
pub struct GridPoint {
    pub assignments: IndexMap<String, Value>,
    pub job: Job,
}

/// Expand `job.sweep` into validated jobs (an empty list when there is no sweep).
pub fn expand_sweep(job: &Job) -> Result<Vec<GridPoint>, JobError> {
    let Some(sweep) = &job.sweep else {
        return Ok(vec![]);
    };
    if sweep.is_empty() {
        return Err(JobError::new("sweep", "must list at least one axis"));
    }
    let mut axes = Vec::new();
    for (key, axis) in sweep {
        let path = format!("sweep.{key}");
        if key == "sweep" || key.starts_with("sweep.") || key == "schema_version" {
            return Err(JobError::new(path, "cannot sweep this field"));
        }
        let values: Vec<Value> = match axis {
            SweepAxis::List(v) => v.clone(),
            SweepAxis::Range { range: [from, to] } => (*from..*to).map(Value::from).collect(),
        };
        if values.is_empty() {
            return Err(JobError::new(path, "must give at least one value"));
        }
        if let Some(i) = values.iter().position(|v| v.is_object() || v.is_array()) {
            return Err(JobError::new(
                format!("{path}[{i}]"),
                "must be a scalar (number, string, bool)",
            ));
        }
        axes.push((key.clone(), values));
    }
    let total: usize = axes.iter().map(|(_, v)| v.len()).product();
    let mut base = serde_json::to_value(job).expect("job serialises");
    base.as_object_mut().expect("object").remove("sweep");
    let mut points = Vec::with_capacity(total);
    for index in 0..total {
        let mut value = base.clone();
        let mut assignments = IndexMap::new();
        let mut rest = index;
        // Last axis varies fastest.
        let mut picks = vec![0; axes.len()];
        for (a, (_, vals)) in axes.iter().enumerate().rev() {
            picks[a] = rest % vals.len();
            rest /= vals.len();
        }
        for ((key, vals), &pick) in axes.iter().zip(&picks) {
            set_path(&mut value, key).map_err(|m| JobError::new(format!("sweep.{key}"), m))?;
            *lookup_mut(&mut value, key) = vals[pick].clone();
            assignments.insert(key.clone(), vals[pick].clone());
        }
        let point_job = parse_value(value.clone()).map_err(|e| swept_error(&e, &axes, &picks))?;
        validate(&point_job).map_err(|e| swept_error(&e, &axes, &picks))?;
        points.push(GridPoint {
            assignments,
            job: point_job,
        });
    }
    Ok(points)
}

/// Blame the sweep value that produced an invalid job, when the error is in a swept field.
fn swept_error(e: &JobError, axes: &[(String, Vec<Value>)], picks: &[usize]) -> JobError {
    for ((key, _), &pick) in axes.iter().zip(picks) {
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
fn set_path(root: &mut Value, dotted: &str) -> Result<(), String> {
    let parts: Vec<&str> = dotted.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err("must be a dotted path like model.width".into());
    }
    let mut cur = &mut *root;
    for (i, part) in parts.iter().enumerate() {
        let obj = cur
            .as_object_mut()
            .ok_or_else(|| format!("`{}` is not an object", parts[..i].join(".")))?;
        if i + 1 == parts.len() {
            if let Some(existing) = obj.get(*part) {
                if existing.is_object() || existing.is_array() {
                    return Err("must name a scalar field, not an object or list".into());
                }
            } else {
                obj.insert(part.to_string(), Value::Null);
            }
            return Ok(());
        }
        cur = obj
            .get_mut(*part)
            .ok_or_else(|| format!("no section `{}` in the job", parts[..=i].join(".")))?;
    }
    Ok(())
}

fn lookup_mut<'a>(root: &'a mut Value, dotted: &str) -> &'a mut Value {
    dotted.split('.').fold(root, |v, p| &mut v[p])
}
