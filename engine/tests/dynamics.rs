//! The logit structure recorded in every curve row (rank, leading singular values, simplex
//! cosine, identified structure) against an independent computation at the same step: the
//! plain forward pass (`model::features`), class means, a dense SVD (faer) and the analysis
//! functions of result.json; and the commitment step of result.json against a brute-force scan
//! of the recorded structure column.

use ufm_engine::analysis::{
    centred_logit_means, class_means, identify, relative_rank, simplex_cosine, singular_values,
    STRUCTURE_TOL,
};
use ufm_engine::grad::GradPath;
use ufm_engine::init::{gaussian_matrix, stream};
use ufm_engine::model::{features, Activation, LossKind, ModelSpec, Params};
use ufm_engine::optim::Gd;
use ufm_engine::train::{TrainOptions, Trainer};

fn trainer(spec: &ModelSpec, record_every: u64, max_steps: u64) -> Trainer {
    let params = Params {
        mats: spec
            .shapes()
            .iter()
            .enumerate()
            .map(|(i, &(r, c))| gaussian_matrix(r, c, 0.7, &mut stream(5, i)))
            .collect(),
    };
    let opts = TrainOptions {
        max_steps,
        tol: 0.0,
        record_every,
        path: GradPath::Auto,
        par: faer::Par::Seq,
    };
    Trainer::new(spec, params, Box::new(Gd), 0.2, opts)
}

#[test]
fn recorded_logit_structure_matches_a_direct_svd_at_the_same_step() {
    for (act, layers) in [
        (Activation::Linear, 1),
        (Activation::Linear, 2),
        (Activation::Linear, 3),
        (Activation::Relu, 3),
    ] {
        let spec = ModelSpec::balanced(5, 3, 8, layers, act, LossKind::CrossEntropy, 5e-3);
        let mut t = trainer(&spec, 7, 40);
        t.run(None, &mut |_| {});
        let rows = t.curve().to_vec();
        assert_eq!(rows.first().unwrap().step, 0);
        assert_eq!(rows.last().unwrap().step, 40);
        // Replay the same (deterministic) run and compare at every recorded step.
        let mut replay = trainer(&spec, 7, 40);
        for row in &rows {
            while replay.steps() < row.step {
                assert!(replay.advance().unwrap());
            }
            let z = features(&spec, replay.params()).logits;
            let m = class_means(z.as_ref(), &spec.class_sizes);
            let c = centred_logit_means(m.as_ref());
            let sv = singular_values(c.as_ref());
            let rank = relative_rank(&sv, 1e-6).min(spec.classes() - 1);
            let got = row.logits.expect("a UFM run records the logit columns");
            assert_eq!(got.rank, rank, "{act:?} L={layers} step {}", row.step);
            for i in 0..3 {
                // Two backward-stable SVDs of the same matrix (class means formed in a different
                // order): agreement to a small multiple of eps * s_max.
                assert!(
                    (got.sv[i] - sv[i]).abs() <= 1e-12 * sv[0],
                    "{act:?} L={layers} step {}: {:?} vs {sv:?}",
                    row.step,
                    got.sv
                );
            }
            assert!((got.simplex_cosine - simplex_cosine(m.as_ref())).abs() < 1e-13);
            let id = identify(m.as_ref(), STRUCTURE_TOL).map(|id| (id.p(), id.q()));
            assert_eq!(got.structure, id);
            // time = the sum of the step's learning rates: steps x lr up to the rounding of a
            // running sum (<= steps ulps).
            let want = 0.2 * row.step as f64;
            assert!(
                (row.time - want).abs() <= 1e-15 * want * row.step as f64,
                "{} vs {want}",
                row.time
            );
        }
    }
}

#[test]
fn commitment_step_matches_a_brute_force_scan_of_the_structure_column() {
    // A small model trained to convergence, so that the structure settles.
    for seed in 0..4u64 {
        let job = ufm_engine::job::parse_value(serde_json::json!({
            "schema_version": 1,
            "model": {"classes": 4, "per_class": 2, "width": 8, "layers": 2, "lambda": 0.01},
            "init": {"name": "gaussian", "std": 0.8, "seed": seed},
            "optimizer": {"name": "gd", "lr": 0.5},
            "train": {"max_steps": 20000, "record_every": 20, "tol": 1e-10}
        }))
        .unwrap();
        let spec = ufm_engine::job::validate(&job).unwrap();
        let out =
            ufm_engine::run::execute(&job, &spec, std::path::Path::new(""), None, &mut |_| {})
                .unwrap();
        let labels: Vec<String> = out
            .curve
            .iter()
            .map(|r| r.logits.unwrap().label())
            .collect();
        let last = labels.last().unwrap().clone();
        // Brute force: the first row from which every later row has the last row's label.
        let first = (0..labels.len())
            .find(|&i| labels[i..].iter().all(|l| *l == last))
            .unwrap();
        let d = out.result.dynamics.as_ref().unwrap();
        eprintln!(
            "seed {seed}: commit {:?} of {} rows, {last}",
            d.commit_step,
            labels.len()
        );
        assert_eq!(d.commit_structure, last);
        assert_eq!(
            d.commit_structure, out.result.structure.label,
            "the final row is the final state"
        );
        if last == "other" {
            assert_eq!(d.commit_step, None);
        } else {
            assert_eq!(
                d.commit_step,
                Some(out.curve[first].step),
                "seed {seed}: {labels:?}"
            );
        }
        assert_eq!(
            d.final_,
            out.result.status == ufm_engine::train::Status::Converged
        );
        // The initial alignment is the step-0 statistic.
        let a = d.initial.unwrap();
        assert_eq!(
            a.simplex_cosine,
            out.curve[0].logits.unwrap().simplex_cosine
        );
        assert!((a.alignment - (a.simplex_cosine - a.pair_cosine)).abs() == 0.0);
    }
}
