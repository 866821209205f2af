//! `ufm theory compare | critical | region | hessian` (DESIGN.md section 5): human tables, or one
//! JSON object with `--json`. Invalid arguments exit 2 with a message naming the argument.

use crate::Failure;
use clap::{Args, Subcommand};
use serde::Serialize;
use ufm::theory::{self, parse_lambda, parse_range, Theorem};

#[derive(Args)]
pub struct TheoryArgs {
    #[command(subcommand)]
    command: TheoryCommand,
}

#[derive(Subcommand)]
enum TheoryCommand {
    /// Best DNC vs best low-rank loss (closed forms, global minimum over the scale).
    Compare(ModelArgs),
    /// Critical scales of the DNC and low-rank structures, and the largest lambda with any.
    Critical(ModelArgs),
    /// Where Theorem 1 (linear) or Theorem 7 (ReLU) shows DNC is not globally optimal.
    Region(RegionArgs),
}

/// The model flags shared by the closed-form commands.
#[derive(Args)]
struct ModelArgs {
    /// Number of classes K (>= 2).
    #[arg(long = "classes", allow_hyphen_values = true)]
    classes: String,
    /// Samples per class n (>= 1).
    #[arg(long = "per-class", allow_hyphen_values = true)]
    per_class: String,
    /// Number of weight matrices L (>= 1).
    #[arg(long = "layers", allow_hyphen_values = true)]
    layers: String,
    /// Regularisation lambda: a decimal (0.001, 1e-3) or a power (2^-10).
    #[arg(long = "lambda", allow_hyphen_values = true)]
    lambda: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RegionArgs {
    /// 1 (deep linear UFM) or 7 (deep ReLU UFM).
    #[arg(long, allow_hyphen_values = true)]
    theorem: String,
    /// Range of K, inclusive: A..B (or a single A).
    #[arg(long, allow_hyphen_values = true)]
    classes: String,
    /// Range of L, inclusive: C..D (or a single C).
    #[arg(long, allow_hyphen_values = true)]
    layers: String,
    #[arg(long)]
    json: bool,
}

/// A validated (K, n, L, lambda).
pub(crate) struct Model {
    pub k: usize,
    pub n: usize,
    pub layers: usize,
    pub lambda: f64,
}

/// Parse a positive integer flag; the error names the flag.
pub(crate) fn parse_count(flag: &str, s: &str, min: usize) -> Result<usize, Failure> {
    let v: usize = s.trim().parse().map_err(|_| {
        Failure::Input(format!(
            "--{flag}: expected a whole number >= {min}, got {s:?}"
        ))
    })?;
    if v < min {
        return Err(Failure::Input(format!(
            "--{flag}: must be >= {min}, got {v}"
        )));
    }
    Ok(v)
}

/// Parse `--lambda`; errors read `--lambda: ...`.
pub(crate) fn parse_lambda_flag(s: &str) -> Result<f64, Failure> {
    parse_lambda(s).map_err(|e| Failure::Input(format!("--{e}")))
}

impl ModelArgs {
    fn model(&self) -> Result<Model, Failure> {
        Ok(Model {
            k: parse_count("classes", &self.classes, 2)?,
            n: parse_count("per-class", &self.per_class, 1)?,
            layers: parse_count("layers", &self.layers, 1)?,
            lambda: parse_lambda_flag(&self.lambda)?,
        })
    }
}

/// Print `value` as one JSON object.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Runtime(format!("cannot serialise the report: {e}")))?;
    println!("{s}");
    Ok(())
}

/// Map a library error (`name: message`) to invalid input `--name: message`.
pub(crate) fn input(e: String) -> Failure {
    Failure::Input(format!("--{e}"))
}

fn list(v: &[f64]) -> String {
    if v.is_empty() {
        return "none".into();
    }
    v.iter()
        .map(|&x| {
            if x != 0.0 && x.abs() < 1e-3 {
                format!("{x:.10e}")
            } else {
                format!("{x:.10}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn theory(a: TheoryArgs) -> Result<(), Failure> {
    match a.command {
        TheoryCommand::Compare(m) => compare(m),
        TheoryCommand::Critical(m) => critical(m),
        TheoryCommand::Region(r) => region(r),
    }
}

fn compare(a: ModelArgs) -> Result<(), Failure> {
    let m = a.model()?;
    let r = theory::compare(m.k, m.n, m.layers, m.lambda).map_err(input)?;
    if a.json {
        return print_json(&r);
    }
    println!(
        "K = {}, n = {}, L = {}, lambda = {:e}",
        m.k, m.n, m.layers, m.lambda
    );
    println!("{:<10} {:>22} {:>16}", "structure", "loss", "scale");
    println!(
        "{:<10} {:>22.15e} {:>16.10}",
        "dnc", r.dnc.loss, r.dnc.scale
    );
    println!(
        "{:<10} {:>22.15e} {:>16.10}",
        "low_rank", r.low_rank.loss, r.low_rank.scale
    );
    let better = if r.low_rank.loss < r.dnc.loss {
        "low rank"
    } else {
        "DNC"
    };
    println!(
        "best: {better} (difference {:.3e})",
        r.dnc.loss - r.low_rank.loss
    );
    println!(
        "Theorem 1 region (K, L): {}",
        if r.theorem1_holds { "yes" } else { "no" }
    );
    Ok(())
}

fn critical(a: ModelArgs) -> Result<(), Failure> {
    let m = a.model()?;
    let r = theory::critical(m.k, m.n, m.layers, m.lambda).map_err(input)?;
    if a.json {
        return print_json(&r);
    }
    println!(
        "K = {}, n = {}, L = {}, lambda = {:e}",
        m.k, m.n, m.layers, m.lambda
    );
    println!("{:<10} {:>18}  critical scales", "structure", "lambda_max");
    println!(
        "{:<10} {:>18.10e}  {}",
        "dnc",
        r.dnc_lambda_max,
        list(&r.dnc_roots)
    );
    println!(
        "{:<10} {:>18.10e}  {}",
        "low_rank",
        r.low_rank_lambda_max,
        list(&r.low_rank_roots)
    );
    if m.k % 2 == 1 {
        println!(
            "note: for odd K the low-rank scales are stationary points of the reduced loss only, \
             not critical points of the full loss (docs/theory.md)"
        );
    }
    Ok(())
}

fn region(a: RegionArgs) -> Result<(), Failure> {
    let theorem = Theorem::parse(&a.theorem).map_err(input)?;
    let classes = parse_range("classes", &a.classes).map_err(input)?;
    let layers = parse_range("layers", &a.layers).map_err(input)?;
    let r = theory::region(theorem, classes.clone(), layers.clone()).map_err(input)?;
    if a.json {
        return print_json(&r);
    }
    let name = match theorem {
        Theorem::One => "Theorem 1 (deep linear UFM)",
        Theorem::Seven => "Theorem 7 (deep ReLU UFM)",
    };
    println!("{name}: '+' = DNC provably not globally optimal, '.' = not shown by the proof");
    print!("{:>6}", "K \\ L");
    for l in layers.clone() {
        print!("{l:>4}");
    }
    println!();
    for k in classes {
        print!("{k:>6}");
        for l in layers.clone() {
            let holds = r
                .rows
                .iter()
                .any(|row| row.classes == k && row.layers == l && row.holds);
            print!("{:>4}", if holds { "+" } else { "." });
        }
        println!();
    }
    Ok(())
}
