"""Tests of the ctypes bindings. Needs UFM_LIBRARY (libufm.so) and, for the bit-for-bit test,
UFM_FIGURE1_RESULT (result.json of `ufm run examples/jobs/figure1.json`); the Rust test
ffi/tests/cross_language.rs sets both, and UFM_EXAMPLE_PLUGIN (the built example plugin)."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import ufm

ROOT = Path(__file__).resolve().parents[3]
SMOKE = ROOT / "examples" / "jobs" / "smoke.json"


def smoke_job(**train):
    job = json.loads(SMOKE.read_text())
    job["train"].update(train)
    return job


def test_versions():
    assert ufm.abi_version() == ufm.ABI_VERSION
    assert ufm.version().count(".") == 2


def test_figure1_bit_for_bit_with_ufm_run():
    path = os.environ.get("UFM_FIGURE1_RESULT")
    if not path:
        pytest.fail("set UFM_FIGURE1_RESULT to result.json of `ufm run examples/jobs/figure1.json`")
    want = json.loads(Path(path).read_text())["final"]["loss"]
    job = ROOT / "examples" / "jobs" / "figure1.json"
    seen = []
    with ufm.Trainer(job.read_text(), base_dir=str(job.parent)) as t:
        status = t.run(progress=lambda s, m, l: seen.append(s))
        res = t.result()
    s = res.summary()
    assert status == "converged" == s["status"]
    assert s["loss"] == want  # bit for bit (json and ctypes both carry exact doubles)
    assert res.json()["final"]["loss"] == want
    assert seen and seen == sorted(seen)
    assert s["classification"] == "low_rank" and s["logit_rank"] == 5
    m = res.class_mean_logits()
    assert m.shape == (10, 10)
    np.testing.assert_array_equal(m.T, np.array(res.json()["logits"]["class_means"]))
    res.close()
    res.close()  # idempotent


def _without_seconds(result_json: str) -> str:
    # result.json's one wall-clock field, the top-level `seconds`: the only line that may differ.
    lines = [l for l in result_json.splitlines() if not l.startswith('  "seconds": ')]
    assert len(lines) == len(result_json.splitlines()) - 1
    return "\n".join(lines)


def test_result_write_equals_ufm_run_folder(tmp_path):
    path = os.environ.get("UFM_FIGURE1_RESULT")
    if not path:
        pytest.fail("set UFM_FIGURE1_RESULT to result.json of `ufm run examples/jobs/figure1.json`")
    want = Path(path).parent
    job = ROOT / "examples" / "jobs" / "figure1.json"
    got = tmp_path / "figure1"
    with ufm.Trainer(job.read_text(), base_dir=str(job.parent)) as t:
        t.run()
        with t.result() as res:
            res.write(got)
    names = sorted(p.relative_to(want) for p in want.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(got) for p in got.rglob("*") if p.is_file())
    assert Path("params/H1.npy") in names and Path("curve.csv") in names
    for n in names:
        a, b = (want / n).read_bytes(), (got / n).read_bytes()
        if n == Path("result.json"):
            a, b = _without_seconds(a.decode()), _without_seconds(b.decode())
        assert a == b, n


def test_params_roundtrip_any_layout():
    with ufm.Trainer(smoke_job()) as t:
        assert t.param_count() == 3
        h = t.param(0)
        assert h.shape == (8, 12)
        np.testing.assert_array_equal(h, t.param(0, order="F"))
        t.set_param(0, np.asfortranarray(2 * h))
        np.testing.assert_array_equal(t.param(0), 2 * h)
        t.set_param(0, (2 * h)[:, ::-1][:, ::-1])  # negative strides are copied first
        big = np.zeros((16, 24))
        big[::2, ::2] = h
        t.set_param(0, big[::2, ::2])  # strided view
        np.testing.assert_array_equal(t.param(0), h)
        g = t.gradient(1)
        assert g.shape == (8, 8) and np.isfinite(g).all()
        lo = t.loss()
        assert lo["loss"] == pytest.approx(lo["fit"] + lo["reg"], rel=1e-15)


def test_step_run_cancel_and_arrays():
    with ufm.Trainer(smoke_job(max_steps=300)) as t:
        assert t.step(10) == 10 and t.steps() == 10
        calls = []
        st = t.run(progress=lambda s, m, l: calls.append(s), cancel=lambda: len(calls) >= 2)
        assert st == "cancelled" and len(calls) == 2
        with t.result() as r:
            c = r.curve()
            assert c.shape[1] == 5 and c[-1, 0] == t.steps()
            sv = r.logit_singular_values()
            assert sv.shape == (4,) and (np.diff(sv) <= 0).all()


def test_exceptions_in_callbacks_propagate():
    def boom(step, max_steps, loss):
        raise RuntimeError("stop here")

    with ufm.Trainer(smoke_job()) as t:
        with pytest.raises(RuntimeError, match="stop here"):
            t.run(progress=boom)
        assert t.steps() == 50  # stopped at the first recorded step


def test_errors_carry_status_and_message():
    bad = smoke_job()
    bad["model"]["width"] = 0
    with pytest.raises(ufm.UFMError) as e:
        ufm.Trainer(bad)
    assert e.value.status == 4 and "model.width" in e.value.message
    with pytest.raises(ufm.UFMError) as e:
        ufm.validate_job("{")
    assert e.value.status_name == "UFM_STATUS_INVALID_JOB"
    t = ufm.Trainer(smoke_job())
    with pytest.raises(ufm.UFMError) as e:
        t.set_param(0, np.zeros((3, 3)))
    assert e.value.status == 5
    with pytest.raises(ufm.UFMError) as e:
        t.set_param(0, np.full((8, 12), np.nan))
    assert e.value.status == 3
    with pytest.raises(ufm.UFMError) as e:
        t.param(7)
    assert e.value.status == 3
    t.close()
    t.close()
    with pytest.raises(ufm.UFMError) as e:
        t.steps()
    assert e.value.status == 7


def test_analysis_and_theory():
    rng = np.random.default_rng(0)
    sizes = [3, 3, 3]
    means = rng.standard_normal((5, 3))
    f = np.repeat(means, 3, axis=1)
    np.testing.assert_allclose(ufm.class_means(f, sizes), means, rtol=1e-14)
    assert ufm.nc1(f, sizes) == 0.0
    assert ufm.nc1_quotient(f, sizes) == 0.0
    assert ufm.nc2(f, sizes) >= 0.0
    w = rng.standard_normal((4, 5))
    assert 0.0 <= ufm.nc3(w, f, sizes) <= 1.0
    a = rng.standard_normal((6, 4))
    np.testing.assert_allclose(ufm.singular_values(a), np.linalg.svd(a, compute_uv=False),
                               rtol=1e-12)
    np.testing.assert_allclose(ufm.singular_values(np.asfortranarray(a)),
                               ufm.singular_values(a), rtol=0)
    assert ufm.relative_rank([1.0, 1e-9], 1e-6) == 1
    k = 4
    s = np.eye(k) - 1.0 / k
    assert ufm.simplex_cosine(s) == pytest.approx(1.0, abs=1e-14)
    assert ufm.classify(np.repeat(3 * s, 2, axis=1), [2] * k) == "dnc"
    with pytest.raises(ufm.UFMError) as e:
        ufm.nc1(f, [3, 3])
    assert e.value.status == 5
    cmp = ufm.theory_compare(10, 5, 2, 2.0 ** -10)
    assert cmp["theorem1_holds"] and cmp["low_rank"]["loss"] < cmp["dnc"]["loss"]
    assert ufm.theory_loss("dnc", 10, 5, 2, 2.0 ** -10, cmp["dnc"]["scale"]) == cmp["dnc"]["loss"]
    roots = ufm.theory_critical_scales("dnc", 10, 5, 2, 2.0 ** -10)
    assert len(roots) >= 1 and cmp["dnc"]["scale"] in roots
    assert ufm.theory_lambda_max("low_rank", 10, 5, 2) > 0
    with pytest.raises(ufm.UFMError):
        ufm.theory_compare(1, 5, 2, 0.1)
    fam = ufm.theory_family(10, 5, 2, 2.0 ** -10)
    assert [m["pairs"] for m in fam] == [0, 1, 2, 3, 5]
    assert fam[0]["loss"] == cmp["dnc"]["loss"] and fam[0]["pair_scale"] is None
    # Rank 8 and rank 7: the GD losses of issue 12 (10 digits).
    assert abs(fam[1]["loss"] - 0.0884334205) < 1e-10 and fam[2]["rank"] == 7
    h = ufm.theory_family_hessian(10, 5, 5, 2.0 ** -6, 0, 10)
    # DNC at K = 10, n = 5, L = 5, lambda = 2^-6: a strict saddle with K(K-3)/2 = 35 negative
    # eigenvalues (docs/theory.md, Theorem 4).
    assert h["classification"] == "strict_saddle" and h["negative"] == 35
    with pytest.raises(ufm.UFMError) as e:
        ufm.theory_family_hessian(10, 5, 2, 2.0 ** -10, 4, 10)
    assert "pairs" in e.value.message


def test_plugins():
    with pytest.raises(ufm.UFMError) as e:
        ufm.load_plugin("/nonexistent/libnothing.so")
    assert e.value.status_name == "UFM_STATUS_PLUGIN" and "no such file" in e.value.message
    path = os.environ.get("UFM_EXAMPLE_PLUGIN")
    if not path:
        pytest.fail("set UFM_EXAMPLE_PLUGIN to the built libufm_plugin_example_rust.so")
    ufm.load_plugin(path)
    job = smoke_job(max_steps=100)
    job["optimizer"] = {"plugin": path, "id": "example.clipped_momentum", "lr": 0.1,
                        "params": {"momentum": 0.9}}
    with ufm.Trainer(job) as t:
        before = t.loss()["loss"]
        assert t.run() == "max_steps"
        assert t.loss()["loss"] < before


def test_analyze_matches_numpy_and_the_layer_order():
    rng = np.random.default_rng(3)
    k, n = 3, 8
    labels = rng.permutation(np.repeat(np.arange(k), n))
    h = rng.normal(size=(k * n, 5)) + 2.0 * np.eye(k, 5)[labels]
    w = rng.normal(size=(k, 5))
    z = h @ w.T
    r = ufm.analyze({"zeta": h, "alpha": np.maximum(h, 0)}, labels, weights={"fc": w}, logits=z,
                    lambda_h=1e-3, lambda_w=1e-2)
    assert [l["name"] for l in r["layers"]] == ["zeta", "alpha"]
    assert r["class_sizes"] == [n] * k
    np.testing.assert_allclose(r["layers"][0]["singular_values"],
                               np.linalg.svd(h, compute_uv=False), rtol=1e-12)
    means = np.stack([z[labels == c].mean(axis=0) for c in range(k)])
    np.testing.assert_allclose(np.array(r["logits"]["class_means"]), means, rtol=1e-12)
    m = z.max(axis=1)
    ce = np.mean(m + np.log(np.exp(z - m[:, None]).sum(axis=1)) - z[np.arange(k * n), labels])
    reg = 0.5e-3 * np.sum(h ** 2) + 0.5e-2 * np.sum(w ** 2)
    assert abs(r["head_loss"]["loss"] - (ce + reg)) < 1e-12 * (ce + reg)
    with pytest.raises(ufm.UFMError) as e:
        ufm.analyze({"h": h[:-1]}, labels)
    assert "expected 24 rows" in str(e.value)
