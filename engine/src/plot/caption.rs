//! The one-line description of a job's setting under every plot's title.
//!
//! Why: a PNG travels alone (into a paper draft, a chat, a slide), so each one must say which
//! model, start and optimiser produced it. The same text serves run plots (from result.json's
//! `job`) and sweep plots (from sweep.json's `job`, with the swept fields shown as `*`).
//! It walks the job as JSON by dotted paths, the way swept fields are named (for a run, the JSON
//! of result.json's typed `Job`, read and serialised again). A path it does not find is left out
//! of the line.

use serde_json::Value;

/// A number as a person writes it: `2^-10` for small powers of two, `1e-5` for tiny values,
/// `70` for whole numbers, at most six decimals otherwise.
pub fn number(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            let e = f.abs().log2();
            let pow2 = f > 0.0 && (e - e.round()).abs() < 1e-9 && e.round().abs() >= 4.0;
            if n.is_f64() && pow2 && f < 1.0 {
                format!("2^{}", e.round() as i64)
            } else if n.is_f64() && f != 0.0 && (f.abs() < 1e-2 || f.abs() >= 1e4) {
                format!("{f:.1e}")
            } else if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                format!("{}", (f * 1e6).round() / 1e6)
            }
        }
        other => other.to_string(),
    }
}

/// A step count for an axis: `200k` rather than `200000`, so the last tick label fits.
pub fn steps(v: f64) -> String {
    if v.abs() >= 10_000.0 && (v / 1000.0).fract().abs() < 1e-9 {
        format!("{}k", (v / 1000.0) as i64)
    } else if v.abs() >= 10_000.0 {
        format!("{:.1}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

/// `key=value` for `section.field` of `job`, `key=*` when that path is swept, nothing if absent.
fn item(job: &Value, swept: &[String], path: &str, key: &str) -> Option<String> {
    if swept.iter().any(|s| s == path) {
        return Some(format!("{key}=*"));
    }
    let mut v = job;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    (!v.is_null()).then(|| format!("{key}={}", number(v)))
}

/// "linear, L=2, K=10, n=5, d=70, lambda=2^-10 | init scaled (scale=1, seed=0) | gd lr=0.5",
/// with `*` for the swept fields (`swept` holds dotted paths such as `model.width`).
pub fn setting(job: &Value, swept: &[String]) -> String {
    let m = &job["model"];
    let mut model = vec![];
    if let Some(a) = m["activation"].as_str() {
        model.push(a.to_string());
    }
    if m["loss"].as_str() == Some("mse") {
        model.push("MSE".into());
    }
    model.extend(item(job, swept, "model.layers", "L"));
    let classes = m["classes"]
        .as_u64()
        .or_else(|| m["class_sizes"].as_array().map(|a| a.len() as u64));
    if let Some(k) = classes {
        model.push(format!("K={k}"));
    }
    model.extend(item(job, swept, "model.per_class", "n"));
    if m["class_sizes"].is_array() {
        model.push("imbalanced".into());
    }
    model.extend(item(job, swept, "model.width", "d"));
    model.extend(item(job, swept, "model.lambda", "lambda"));
    model.extend(item(job, swept, "model.lambda_h", "lambda_H"));
    model.extend(item(job, swept, "model.lambda_w", "lambda_W"));

    let init = &job["init"];
    let init_name = init["name"]
        .as_str()
        .map(String::from)
        .or_else(|| init["id"].as_str().map(|id| format!("plugin {id}")))
        .unwrap_or_else(|| "?".into());
    let mut init_args = vec![];
    for field in ["std", "scale", "gain", "noise", "multiplier", "seed"] {
        let path = format!("init.{field}");
        let default_one = field == "multiplier" && init[field].as_f64() == Some(1.0);
        let zero_noise = field == "noise" && init[field].as_f64() == Some(0.0);
        if !default_one && !zero_noise {
            init_args.extend(item(job, swept, &path, field));
        }
    }
    if swept.iter().any(|s| s == "init.name") {
        init_args.push("name=*".into());
    }

    let opt = &job["optimizer"];
    let opt_name = opt["name"]
        .as_str()
        .map(String::from)
        .or_else(|| opt["id"].as_str().map(String::from))
        .unwrap_or_else(|| "?".into());
    let mut opt_args = vec![];
    for field in ["lr", "momentum", "batch_size"] {
        opt_args.extend(item(job, swept, &format!("optimizer.{field}"), field));
    }
    if swept.iter().any(|s| s == "optimizer.name") {
        opt_args.push("name=*".into());
    }

    let paren = |v: Vec<String>| {
        if v.is_empty() {
            String::new()
        } else {
            format!(" ({})", v.join(", "))
        }
    };
    format!(
        "{} | init {}{} | {}{}",
        model.join(", "),
        init_name,
        paren(init_args),
        opt_name,
        paren(opt_args)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn figure1_setting_reads_like_the_paper() {
        let job = json!({
            "model": {"classes": 10, "per_class": 5, "width": 70, "layers": 2,
                      "activation": "linear", "loss": "cross_entropy", "lambda": 0.0009765625},
            "init": {"name": "scaled", "scale": 1.0, "seed": 0, "multiplier": 1.0},
            "optimizer": {"name": "gd", "lr": 0.5}
        });
        assert_eq!(
            setting(&job, &[]),
            "linear, L=2, K=10, n=5, d=70, lambda=2^-10 | init scaled (scale=1, seed=0) | gd (lr=0.5)"
        );
        let swept = vec!["model.width".to_string(), "init.seed".to_string()];
        assert_eq!(
            setting(&job, &swept),
            "linear, L=2, K=10, n=5, d=*, lambda=2^-10 | init scaled (scale=1, seed=*) | gd (lr=0.5)"
        );
    }

    #[test]
    fn step_labels_fit() {
        assert_eq!(steps(200_000.0), "200k");
        assert_eq!(steps(25_000.0), "25k");
        assert_eq!(steps(12_500.0), "12.5k");
        assert_eq!(steps(5000.0), "5000");
    }
}
