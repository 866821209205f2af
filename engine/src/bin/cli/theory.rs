//! `ufm theory compare | critical | region | hessian` (docs/theory.md): human tables, or one
//! JSON object with `--json`. Invalid arguments exit 2 with a message naming the argument.

use crate::Failure;
use clap::builder::RangedU64ValueParser;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use std::ops::RangeInclusive;
use ufm::theory::{self, parse_lambda, parse_range, Theorem};

#[derive(Args)]
pub struct TheoryArgs {
    #[command(subcommand)]
    command: TheoryCommand,
}

#[derive(Subcommand)]
enum TheoryCommand {
    /// Best DNC vs best low-rank loss (closed forms, global minimum over the scale), and every
    /// "p pairs + simplex over K - 2p classes" structure with its Hessian verdict.
    Compare(CompareArgs),
    /// Critical scales of the DNC and low-rank structures, and the largest lambda with any.
    Critical(ModelArgs),
    /// Where Theorem 1 (linear) or Theorem 7 (ReLU) shows DNC is not globally optimal; with
    /// --theorem 4, the DNC point's Hessian verdict beside B.6 and the observed law on a grid.
    Region(RegionArgs),
    /// Hessian spectrum, flatness and symmetry/solution-set dimensions at a constructed
    /// critical point (--structure ...) or at trained parameters (--job JOB --params DIR).
    Hessian(Box<HessianArgs>),
}

/// A whole number `>= min` (clap names the flag and the allowed range when it is not).
fn at_least(min: u64) -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::<usize>::new().range(min..)
}

/// `--lambda`: a decimal (0.001, 1e-3) or a power (2^-10), finite and > 0.
fn lambda_value(s: &str) -> Result<f64, String> {
    parse_lambda(s).map_err(rule_of)
}

/// The rule an argument error states, without the argument's name (clap puts the flag's name
/// in front of it).
fn rule_of(e: ufm::Error) -> String {
    match e {
        ufm::Error::Argument { message, .. } => message,
        other => other.to_string(),
    }
}

/// `--classes` / `--layers` of `region`: `A..B` (inclusive) or a single `A`.
fn range_value(s: &str) -> Result<RangeInclusive<usize>, String> {
    parse_range("value", s).map_err(rule_of)
}

/// `--tol`: a relative tolerance in (0, 1).
fn tol_value(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("expected a number in (0, 1), got {s:?}"))?;
    if !(v.is_finite() && v > 0.0 && v < 1.0) {
        return Err(format!("must be in (0, 1), got {s}"));
    }
    Ok(v)
}

/// `--structure` of `hessian`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StructureArg {
    Dnc,
    #[value(name = "low_rank")]
    LowRank,
    #[value(name = "pair_simplex")]
    PairSimplex,
}

/// `--root`: which critical scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RootArg {
    /// The scale that diverges as lambda -> 0.
    Large,
    Small,
}

impl From<RootArg> for theory::hessian::Root {
    fn from(r: RootArg) -> Self {
        match r {
            RootArg::Large => theory::hessian::Root::Large,
            RootArg::Small => theory::hessian::Root::Small,
        }
    }
}

/// `--method` of `hessian`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MethodArg {
    /// Dense up to 2500 parameters, else Lanczos + Hutchinson.
    Auto,
    Dense,
    Lanczos,
}

impl From<MethodArg> for theory::hessian::Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Auto => theory::hessian::Method::Auto,
            MethodArg::Dense => theory::hessian::Method::Dense,
            MethodArg::Lanczos => theory::hessian::Method::Lanczos,
        }
    }
}

/// `--theorem` of `region`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TheoremArg {
    /// Theorem 1: deep linear UFM.
    #[value(name = "1")]
    One,
    /// Theorem 7: deep ReLU UFM.
    #[value(name = "7")]
    Seven,
    /// Theorem 4: DNC Hessian verdicts on a grid.
    #[value(name = "4")]
    Four,
}

#[derive(Args)]
struct HessianArgs {
    /// Number of classes K (constructed point).
    #[arg(long, allow_hyphen_values = true)]
    classes: Option<usize>,
    /// Samples per class n (constructed point).
    #[arg(long = "per-class", allow_hyphen_values = true)]
    per_class: Option<usize>,
    /// Number of weight matrices L (constructed point).
    #[arg(long, allow_hyphen_values = true)]
    layers: Option<usize>,
    /// Regularisation lambda, decimal or 2^-10 (constructed point).
    #[arg(long, allow_hyphen_values = true, value_parser = lambda_value)]
    lambda: Option<f64>,
    /// The constructed point's structure.
    #[arg(long, value_enum)]
    structure: Option<StructureArg>,
    /// Number of class pairs p for --structure pair_simplex (simplex over K - 2p classes).
    #[arg(long, allow_hyphen_values = true)]
    pairs: Option<usize>,
    /// Which critical scale [default: large].
    #[arg(long, value_enum)]
    root: Option<RootArg>,
    /// Width d >= K (constructed point).
    #[arg(long, allow_hyphen_values = true, value_parser = at_least(1))]
    width: Option<usize>,
    /// The job file whose model the --params folder belongs to.
    #[arg(long)]
    job: Option<std::path::PathBuf>,
    /// Folder with H1.npy, W1.npy, ... (e.g. the params/ of `ufm run`).
    #[arg(long)]
    params: Option<std::path::PathBuf>,
    /// How the spectrum is computed.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    method: MethodArg,
    /// Relative zero tolerance for eigenvalues, in (0, 1) (see docs/theory.md).
    #[arg(long, allow_hyphen_values = true, value_parser = tol_value)]
    tol: Option<f64>,
    /// Lanczos steps.
    #[arg(
        long = "lanczos-steps",
        default_value = "200",
        allow_hyphen_values = true,
        value_parser = at_least(1)
    )]
    lanczos_steps: usize,
    /// Hutchinson probes.
    #[arg(long, default_value = "64", allow_hyphen_values = true, value_parser = at_least(2))]
    probes: usize,
    /// Seed for the random frames of the constructed point and the random probes.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

/// The model flags shared by the closed-form commands. Their ranges are those of
/// `theory::check_model` (the one check the reports and the C API make too), applied in
/// [`ModelArgs::model`] so that the rule lives in one place.
#[derive(Args)]
struct ModelArgs {
    /// Number of classes K (>= 2).
    #[arg(long = "classes", allow_hyphen_values = true)]
    classes: usize,
    /// Samples per class n (>= 1).
    #[arg(long = "per-class", allow_hyphen_values = true)]
    per_class: usize,
    /// Number of weight matrices L (>= 1).
    #[arg(long = "layers", allow_hyphen_values = true)]
    layers: usize,
    /// Regularisation lambda: a decimal (0.001, 1e-3) or a power (2^-10).
    #[arg(long = "lambda", allow_hyphen_values = true, value_parser = lambda_value)]
    lambda: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct CompareArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Width d >= K of the constructed points whose Hessian verdicts are printed (default K;
    /// verdicts are skipped above 2500 parameters).
    #[arg(long, allow_hyphen_values = true)]
    width: Option<usize>,
    /// Skip the Hessian verdicts (closed forms only).
    #[arg(long = "no-hessian")]
    no_hessian: bool,
}

#[derive(Args)]
struct RegionArgs {
    /// Which theorem's region.
    #[arg(long, value_enum)]
    theorem: TheoremArg,
    /// Theorem 4 only: samples per class, comma-separated (e.g. 1,2,5).
    #[arg(long = "per-class", allow_hyphen_values = true, value_delimiter = ',')]
    per_class: Vec<usize>,
    /// Theorem 4 only: lambdas, comma-separated (e.g. 1e-5,1e-3,2^-6).
    #[arg(
        long,
        allow_hyphen_values = true,
        value_delimiter = ',',
        value_parser = lambda_value
    )]
    lambda: Vec<f64>,
    /// Theorem 4 only: which critical scale [default: large].
    #[arg(long, value_enum)]
    root: Option<RootArg>,
    /// Range of K, inclusive: A..B (or a single A).
    #[arg(long, allow_hyphen_values = true, value_parser = range_value)]
    classes: RangeInclusive<usize>,
    /// Range of L, inclusive: C..D (or a single C).
    #[arg(long, allow_hyphen_values = true, value_parser = range_value)]
    layers: RangeInclusive<usize>,
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

/// The one model check (`theory::check_model`), its error naming the flag: `--per-class: ...`.
fn checked_model(k: usize, n: usize, layers: usize, lambda: f64) -> Result<Model, Failure> {
    theory::check_model(k, n, layers, lambda)
        .map_err(|e| Failure::Input(e.named(&format!("--{}", e.arg.name()))))?;
    Ok(Model {
        k,
        n,
        layers,
        lambda,
    })
}

impl ModelArgs {
    fn model(&self) -> Result<Model, Failure> {
        checked_model(self.classes, self.per_class, self.layers, self.lambda)
    }
}

/// Print `value` as one JSON object.
pub(crate) fn print_json<T: Serialize>(value: &T) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Runtime(format!("cannot serialise the report: {e}")))?;
    println!("{s}");
    Ok(())
}

/// Show a library function's bad argument as the flag that gave it (`classes` as `--classes`);
/// other errors pass through with their kind.
pub(crate) fn input(e: Failure) -> Failure {
    match e {
        Failure::Argument { name, message } => Failure::Argument {
            name: format!("--{name}"),
            message,
        },
        e => e,
    }
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
        TheoryCommand::Hessian(h) => hessian(*h),
    }
}

fn compare(c: CompareArgs) -> Result<(), Failure> {
    let a = c.model;
    let m = a.model()?;
    let r = if c.no_hessian {
        if c.width.is_some() {
            return Err(Failure::Input(
                "--width: not allowed with --no-hessian".into(),
            ));
        }
        theory::compare(m.k, m.n, m.layers, m.lambda).map_err(input)?
    } else {
        let width = match c.width {
            Some(w) if w < m.k => {
                return Err(Failure::Input(format!(
                    "--width: must be >= {} (the number of classes), got {w}",
                    m.k
                )))
            }
            Some(w) => w,
            None => m.k,
        };
        theory::compare_with_hessian(m.k, m.n, m.layers, m.lambda, width).map_err(input)?
    };
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
    println!();
    println!(
        "p pairs + simplex over q = K - 2p classes (optimal scales; Hessian at the large roots)"
    );
    println!(
        "{:>3} {:>3} {:>5} {:>22} {:>14} {:>14}  hessian",
        "p", "q", "rank", "loss", "beta", "gamma"
    );
    let opt = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.10}"));
    for f in &r.family {
        let h = match &f.hessian {
            Some(h) => format!(
                "{} (d = {}, {} negative, smallest off orbit {})",
                h.classification,
                h.width,
                h.negative.map_or("?".into(), |x| x.to_string()),
                h.smallest_beyond_symmetry
                    .map_or("n/a".into(), |x| format!("{x:.4e}"))
            ),
            None if c.no_hessian => "-".into(),
            None => "n/a (no critical point, or > 2500 parameters)".into(),
        };
        println!(
            "{:>3} {:>3} {:>5} {:>22.15e} {:>14} {:>14}  {h}",
            f.pairs,
            f.simplex_size,
            f.rank,
            f.loss,
            opt(f.pair_scale),
            opt(f.simplex_scale)
        );
    }
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

fn region4(a: RegionArgs) -> Result<(), Failure> {
    for (flag, missing) in [
        ("per-class", a.per_class.is_empty()),
        ("lambda", a.lambda.is_empty()),
    ] {
        if missing {
            return Err(Failure::Input(format!(
                "--{flag}: required with --theorem 4 (a comma-separated list)"
            )));
        }
    }
    let root: theory::hessian::Root = a.root.unwrap_or(RootArg::Large).into();
    let r = theory::theorem4_grid(
        a.classes.clone(),
        a.layers.clone(),
        &a.per_class,
        &a.lambda,
        root,
    )
    .map_err(input)?;
    if a.json {
        return print_json(&r);
    }
    println!(
        "Theorem 4: DNC {} root at width K; B.6 = alpha n/K e^a/(K-1+e^a) (paper: minimum \
         if >= 1); margin = (L+1) alpha/K - (L-1) (law: minimum iff > 0, K >= 4)",
        user_name(&root)
    );
    println!(
        "{:>3} {:>2} {:>2} {:>10} {:>9} {:>9} {:>9} {:>14} {:>14} {:>4} {:>14}",
        "K", "n", "L", "lambda", "alpha", "B.6", "margin", "law", "spectrum", "neg", "smallest/lam"
    );
    for row in &r.rows {
        let t = &row.check;
        println!(
            "{:>3} {:>2} {:>2} {:>10.3e} {:>9.4} {:>9.4} {:>9.4} {:>14} {:>14} {:>4} {:>14}",
            row.classes,
            row.per_class,
            row.layers,
            row.lambda,
            t.alpha,
            t.paper_b6,
            t.law_margin,
            t.law_verdict.as_deref().unwrap_or("n/a"),
            t.spectrum_verdict,
            row.negative.map_or("?".into(), |x| x.to_string()),
            t.spectrum_smallest
                .map_or("n/a".into(), |x| format!("{:.6}", x / row.lambda))
        );
    }
    println!(
        "{} points ({} without a critical point skipped): {} strict saddles, {} of them where \
         B.6's condition holds; law and spectrum disagree at {} points",
        r.rows.len(),
        r.skipped,
        r.strict_saddles,
        r.saddles_where_paper_b6_holds,
        r.law_disagreements
    );
    Ok(())
}

fn region(a: RegionArgs) -> Result<(), Failure> {
    let theorem = match a.theorem {
        TheoremArg::Four => return region4(a),
        TheoremArg::One => Theorem::One,
        TheoremArg::Seven => Theorem::Seven,
    };
    for (flag, given) in [
        ("per-class", !a.per_class.is_empty()),
        ("lambda", !a.lambda.is_empty()),
        ("root", a.root.is_some()),
    ] {
        if given {
            return Err(Failure::Input(format!("--{flag}: only with --theorem 4")));
        }
    }
    let (classes, layers) = (a.classes.clone(), a.layers.clone());
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

fn required<T>(flag: &str, v: Option<T>) -> Result<T, Failure> {
    v.ok_or_else(|| {
        Failure::Input(format!(
            "--{flag}: required for a constructed point (or give --job JOB --params DIR)"
        ))
    })
}

fn hessian(a: HessianArgs) -> Result<(), Failure> {
    use ufm::theory::hessian::Root;
    let mut opts = theory::HessianOptions {
        method: a.method.into(),
        lanczos_steps: a.lanczos_steps,
        probes: a.probes,
        seed: a.seed,
        ..Default::default()
    };
    if let Some(t) = a.tol {
        opts.rel_tol = t;
    }
    let (spec, params, scale, what, dnc) = match (&a.job, &a.params) {
        (Some(job), Some(dir)) => {
            for (flag, given) in [
                ("classes", a.classes.is_some()),
                ("per-class", a.per_class.is_some()),
                ("layers", a.layers.is_some()),
                ("lambda", a.lambda.is_some()),
                ("structure", a.structure.is_some()),
                ("root", a.root.is_some()),
                ("width", a.width.is_some()),
            ] {
                if given {
                    return Err(Failure::Input(format!(
                        "--{flag}: not allowed with --job/--params (the job fixes the model)"
                    )));
                }
            }
            let loaded =
                ufm::job::load(job).map_err(|e| e.context(&format!("--job: {}", job.display())))?;
            let params =
                ufm::init::read_dir(&loaded.spec, dir).map_err(|e| e.context("--params"))?;
            let what = format!("parameters {} (job {})", dir.display(), job.display());
            (loaded.spec, params, None, what, None)
        }
        (None, Some(_)) => {
            return Err(Failure::Input(
                "--job: needed with --params (it fixes the model)".into(),
            ))
        }
        (Some(_), None) => {
            return Err(Failure::Input(
                "--params: needed with --job (the folder with H1.npy, W1.npy, ...)".into(),
            ))
        }
        (None, None) => {
            let Model {
                k,
                n,
                layers,
                lambda,
            } = checked_model(
                required("classes", a.classes)?,
                required("per-class", a.per_class)?,
                required("layers", a.layers)?,
                required("lambda", a.lambda)?,
            )?;
            let structure_arg = required("structure", a.structure)?;
            let root: Root = a.root.unwrap_or(RootArg::Large).into();
            let width = required("width", a.width)?;
            // The same memory rule as a job's (default train.max_memory_gib = 4), checked
            // before the point is built.
            ufm::job::check_model_memory(k, k as u128 * n as u128, width, layers, false, 4.0)
                .map_err(|e| {
                    Failure::Input(format!("--classes/--per-class/--width/--layers: {e}"))
                })?;
            let structure = match structure_arg {
                StructureArg::PairSimplex => None,
                StructureArg::Dnc => Some(theory::Structure::Dnc),
                StructureArg::LowRank => Some(theory::Structure::LowRank),
            };
            if let Some(structure) = structure {
                if a.pairs.is_some() {
                    return Err(Failure::Input(
                        "--pairs: only with --structure pair_simplex".into(),
                    ));
                }
                let (spec, params, scale) = theory::constructed_point(
                    structure, root, k, n, layers, lambda, width, opts.seed,
                )
                .map_err(input)?;
                let what = format!(
                    "constructed {} critical point, {} root, scale {scale:.10}, \
                     K = {k}, n = {n}, L = {layers}, d = {width}, lambda = {lambda:e}",
                    user_name(&structure),
                    user_name(&root)
                );
                let dnc = (structure == theory::Structure::Dnc).then_some((k, n, layers, lambda));
                (spec, params, Some(scale), what, dnc)
            } else {
                let p = required("pairs", a.pairs)?;
                let member = theory::PairSimplex::new(k, p).map_err(input)?;
                let (spec, params, beta, gamma) =
                    theory::family_point(member, root, n, layers, lambda, width, opts.seed)
                        .map_err(input)?;
                let what = format!(
                    "constructed {p} pairs + simplex over {} classes, {} roots, beta {}, \
                     gamma {}, K = {k}, n = {n}, L = {layers}, d = {width}, lambda = {lambda:e}",
                    member.simplex_size(),
                    user_name(&root),
                    beta.map_or("-".into(), |b| format!("{b:.10}")),
                    gamma.map_or("-".into(), |g| format!("{g:.10}")),
                );
                (spec, params, beta.or(gamma), what, None)
            }
        }
    };
    // A dense Hessian over the size limit is the --method argument's fault (exit 2, the
    // message names the flag); every other failure is the computation's (exit 1).
    let mut r = theory::hessian_report(&spec, &params, &opts).map_err(|e| match e {
        Failure::Limit(m) => Failure::Limit(format!("--{m}")),
        e => e,
    })?;
    r.scale = scale;
    if let (Some((k, n, layers, lambda)), Some(alpha)) = (dnc, scale) {
        r.theorem4 = Some(theory::theorem4_check(k, n, layers, lambda, alpha, &r));
    }
    if a.json {
        return print_json(&r);
    }
    let opt = |v: Option<usize>| v.map_or("n/a".to_string(), |x| x.to_string());
    println!("{what}");
    println!("parameters          {}", r.parameters);
    println!("method              {}", r.method);
    println!("loss                {:.15e}", r.loss);
    println!("gradient norm       {:.3e}", r.gradient_norm);
    println!(
        "eigenvalue min/max  {:.6e} / {:.6e}",
        r.eigenvalue_min, r.eigenvalue_max
    );
    println!(
        "negative/zero/pos   {} / {} / {}   (|mu| <= {:.2e} counts as zero)",
        opt(r.negative),
        opt(r.zero),
        opt(r.positive),
        r.zero_tolerance
    );
    println!("symmetry dimension  {}", opt(r.symmetry_dimension));
    if let Some(x) = r.null_beyond_symmetry {
        println!("null beyond orbit   {x}");
    }
    if !r.negative_eigenvalues.is_empty() {
        let v: Vec<String> = r
            .negative_eigenvalues
            .iter()
            .map(|x| format!("{x:.4e}"))
            .collect();
        println!("negative curvature  {}", v.join(", "));
    }
    println!("classification      {}", r.classification);
    if let Some(x) = r.smallest_beyond_symmetry {
        println!("smallest off orbit  {x:.6e}");
    }
    if let Some(t) = &r.theorem4 {
        println!(
            "Theorem 4 at alpha = {:.6}: paper B.6 value {:.6} ({} 1: {}), corrected B.6 {:.6}, \
             law margin (L+1) alpha/K - (L-1) = {:.6} (law: {}, smallest off orbit {}), \
             spectrum: {}",
            t.alpha,
            t.paper_b6,
            if t.paper_b6_holds { ">=" } else { "<" },
            if t.paper_b6_holds {
                "claims minimum"
            } else {
                "no claim"
            },
            t.corrected_b6,
            t.law_margin,
            t.law_verdict.as_deref().unwrap_or("n/a for K < 4"),
            t.law_eigenvalue
                .map_or("n/a".into(), |x| format!("{x:.6e}")),
            t.spectrum_verdict
        );
    }
    println!(
        "flatness ({})  Frobenius {:.6e}  spectral {:.6e}  trace {:.6e}{}",
        r.flatness_estimator,
        r.frobenius,
        r.spectral,
        r.trace,
        r.nuclear
            .map_or(String::new(), |x| format!("  trace norm {x:.6e}"))
    );
    if let (Some(t), Some(f)) = (r.trace_stderr, r.frobenius_stderr) {
        println!("standard errors     trace {t:.2e}  Frobenius {f:.2e}");
    }
    if let Some(t5) = &r.theorem5 {
        println!(
            "Theorem 5 (rank {}): paper {} (bounds {}..{}), numerical {}",
            t5.rank,
            opt(t5.paper),
            t5.paper_lower,
            t5.paper_upper,
            opt(t5.numerical)
        );
    }
    Ok(())
}

/// The name a user types for an option value (`dnc`, `low_rank`, `large`): its serde name, never
/// the Rust variant (`Dnc`, `Large`) that `{:?}` would print.
fn user_name(v: &impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_else(|| "?".into())
}
