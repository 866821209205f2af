//! `ufm theory compare | critical | region | hessian` (docs/theory.md): human tables, or one
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

#[derive(Args)]
struct HessianArgs {
    /// Number of classes K (constructed point).
    #[arg(long, allow_hyphen_values = true)]
    classes: Option<String>,
    /// Samples per class n (constructed point).
    #[arg(long = "per-class", allow_hyphen_values = true)]
    per_class: Option<String>,
    /// Number of weight matrices L (constructed point).
    #[arg(long, allow_hyphen_values = true)]
    layers: Option<String>,
    /// Regularisation lambda, decimal or 2^-10 (constructed point).
    #[arg(long, allow_hyphen_values = true)]
    lambda: Option<String>,
    /// dnc, low_rank or pair_simplex (constructed point).
    #[arg(long, allow_hyphen_values = true)]
    structure: Option<String>,
    /// Number of class pairs p for --structure pair_simplex (simplex over K - 2p classes).
    #[arg(long, allow_hyphen_values = true)]
    pairs: Option<String>,
    /// large (scale diverging as lambda -> 0) or small.
    #[arg(long, allow_hyphen_values = true)]
    root: Option<String>,
    /// Width d >= K (constructed point).
    #[arg(long, allow_hyphen_values = true)]
    width: Option<String>,
    /// The job file whose model the --params folder belongs to.
    #[arg(long)]
    job: Option<std::path::PathBuf>,
    /// Folder with H1.npy, W1.npy, ... (e.g. the params/ of `ufm run`).
    #[arg(long)]
    params: Option<std::path::PathBuf>,
    /// auto (dense up to 2500 parameters, else Lanczos + Hutchinson), dense or lanczos.
    #[arg(long, default_value = "auto", allow_hyphen_values = true)]
    method: String,
    /// Relative zero tolerance for eigenvalues (see docs/theory.md).
    #[arg(long, allow_hyphen_values = true)]
    tol: Option<String>,
    /// Lanczos steps.
    #[arg(
        long = "lanczos-steps",
        default_value = "200",
        allow_hyphen_values = true
    )]
    lanczos_steps: String,
    /// Hutchinson probes.
    #[arg(long, default_value = "64", allow_hyphen_values = true)]
    probes: String,
    /// Seed for the random frames of the constructed point and the random probes.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    seed: String,
    #[arg(long)]
    json: bool,
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
struct CompareArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Width d >= K of the constructed points whose Hessian verdicts are printed (default K;
    /// verdicts are skipped above 2500 parameters).
    #[arg(long, allow_hyphen_values = true)]
    width: Option<String>,
    /// Skip the Hessian verdicts (closed forms only).
    #[arg(long = "no-hessian")]
    no_hessian: bool,
}

#[derive(Args)]
struct RegionArgs {
    /// 1 (deep linear UFM), 7 (deep ReLU UFM) or 4 (DNC Hessian verdicts on a grid).
    #[arg(long, allow_hyphen_values = true)]
    theorem: String,
    /// Theorem 4 only: samples per class, comma-separated (e.g. 1,2,5).
    #[arg(long = "per-class", allow_hyphen_values = true)]
    per_class: Option<String>,
    /// Theorem 4 only: lambdas, comma-separated (e.g. 1e-5,1e-3,2^-6).
    #[arg(long, allow_hyphen_values = true)]
    lambda: Option<String>,
    /// Theorem 4 only: large (default) or small root.
    #[arg(long, allow_hyphen_values = true)]
    root: Option<String>,
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
    parse_lambda(s).map_err(input)
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
        let width = match &c.width {
            Some(w) => parse_count("width", w, m.k)?,
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
    use ufm::theory::hessian::Root;
    let classes = parse_range("classes", &a.classes).map_err(input)?;
    let layers = parse_range("layers", &a.layers).map_err(input)?;
    let need = |flag: &str, v: &Option<String>| -> Result<Vec<String>, Failure> {
        let v = v.as_deref().ok_or_else(|| {
            Failure::Input(format!(
                "--{flag}: required with --theorem 4 (a comma-separated list)"
            ))
        })?;
        Ok(v.split(',').map(|x| x.trim().to_string()).collect())
    };
    let per_class = need("per-class", &a.per_class)?
        .iter()
        .map(|x| parse_count("per-class", x, 1))
        .collect::<Result<Vec<_>, _>>()?;
    let lambdas = need("lambda", &a.lambda)?
        .iter()
        .map(|x| parse_lambda_flag(x))
        .collect::<Result<Vec<_>, _>>()?;
    let root = match &a.root {
        Some(r) => Root::parse(r).map_err(input)?,
        None => Root::Large,
    };
    let r = theory::theorem4_grid(classes, layers, &per_class, &lambdas, root).map_err(input)?;
    if a.json {
        return print_json(&r);
    }
    println!(
        "Theorem 4: DNC {root:?} root at width K; B.6 = alpha n/K e^a/(K-1+e^a) (paper: minimum \
         if >= 1); margin = (L+1) alpha/K - (L-1) (law: minimum iff > 0, K >= 4)"
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
    if a.theorem.trim() == "4" {
        return region4(a);
    }
    for (flag, v) in [
        ("per-class", &a.per_class),
        ("lambda", &a.lambda),
        ("root", &a.root),
    ] {
        if v.is_some() {
            return Err(Failure::Input(format!("--{flag}: only with --theorem 4")));
        }
    }
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

fn required<'a>(flag: &str, v: &'a Option<String>) -> Result<&'a str, Failure> {
    v.as_deref().ok_or_else(|| {
        Failure::Input(format!(
            "--{flag}: required for a constructed point (or give --job JOB --params DIR)"
        ))
    })
}

fn hessian(a: HessianArgs) -> Result<(), Failure> {
    use ufm::theory::hessian::{parse_structure, Method, Root};
    let mut opts = theory::HessianOptions {
        method: Method::parse(&a.method).map_err(input)?,
        lanczos_steps: parse_count("lanczos-steps", &a.lanczos_steps, 1)?,
        probes: parse_count("probes", &a.probes, 2)?,
        seed: a.seed.trim().parse().map_err(|_| {
            Failure::Input(format!("--seed: expected a whole number, got {:?}", a.seed))
        })?,
        ..Default::default()
    };
    if let Some(t) = &a.tol {
        let v: f64 = t
            .trim()
            .parse()
            .map_err(|_| Failure::Input(format!("--tol: expected a number, got {t:?}")))?;
        if !(v.is_finite() && v > 0.0 && v < 1.0) {
            return Err(Failure::Input(format!("--tol: must be in (0, 1), got {t}")));
        }
        opts.rel_tol = v;
    }
    let (spec, params, scale, what, dnc) = match (&a.job, &a.params) {
        (Some(job), Some(dir)) => {
            for (flag, v) in [
                ("classes", &a.classes),
                ("per-class", &a.per_class),
                ("layers", &a.layers),
                ("lambda", &a.lambda),
                ("structure", &a.structure),
                ("root", &a.root),
                ("width", &a.width),
            ] {
                if v.is_some() {
                    return Err(Failure::Input(format!(
                        "--{flag}: not allowed with --job/--params (the job fixes the model)"
                    )));
                }
            }
            let loaded = ufm::job::load(job)
                .map_err(|e| Failure::Input(format!("--job: {}: {e}", job.display())))?;
            let params = ufm::init::read_dir(&loaded.spec, dir)
                .map_err(|e| Failure::Input(format!("--params: {e}")))?;
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
            let k = parse_count("classes", required("classes", &a.classes)?, 2)?;
            let n = parse_count("per-class", required("per-class", &a.per_class)?, 1)?;
            let layers = parse_count("layers", required("layers", &a.layers)?, 1)?;
            let lambda = parse_lambda_flag(required("lambda", &a.lambda)?)?;
            let structure_arg = required("structure", &a.structure)?;
            let root = match &a.root {
                Some(r) => Root::parse(r).map_err(input)?,
                None => Root::Large,
            };
            let width = parse_count("width", required("width", &a.width)?, 1)?;
            // The same memory rule as a job's (default train.max_memory_gib = 4), checked
            // before the point is built.
            ufm::job::check_model_memory(k, k as u128 * n as u128, width, layers, false, 4.0)
                .map_err(|e| {
                    Failure::Input(format!("--classes/--per-class/--width/--layers: {e}"))
                })?;
            if structure_arg.trim() == "pair_simplex" {
                let p = parse_count("pairs", required("pairs", &a.pairs)?, 0)?;
                let member = theory::PairSimplex::new(k, p).map_err(input)?;
                let (spec, params, beta, gamma) =
                    theory::family_point(member, root, n, layers, lambda, width, opts.seed)
                        .map_err(input)?;
                let what = format!(
                    "constructed {p} pairs + simplex over {} classes, {root:?} roots, beta {}, \
                     gamma {}, K = {k}, n = {n}, L = {layers}, d = {width}, lambda = {lambda:e}",
                    member.simplex_size(),
                    beta.map_or("-".into(), |b| format!("{b:.10}")),
                    gamma.map_or("-".into(), |g| format!("{g:.10}")),
                );
                (spec, params, beta.or(gamma), what, None)
            } else {
                if a.pairs.is_some() {
                    return Err(Failure::Input(
                        "--pairs: only with --structure pair_simplex".into(),
                    ));
                }
                let structure = parse_structure(structure_arg).map_err(|_| {
                    Failure::argument(
                        "--structure",
                        format!(
                            "must be dnc, low_rank or pair_simplex, got {:?}",
                            structure_arg.trim()
                        ),
                    )
                })?;
                let (spec, params, scale) = theory::constructed_point(
                    structure, root, k, n, layers, lambda, width, opts.seed,
                )
                .map_err(input)?;
                let what = format!(
                    "constructed {structure:?} critical point, {root:?} root, scale {scale:.10}, \
                     K = {k}, n = {n}, L = {layers}, d = {width}, lambda = {lambda:e}"
                );
                let dnc = (structure == theory::Structure::Dnc).then_some((k, n, layers, lambda));
                (spec, params, Some(scale), what, dnc)
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
