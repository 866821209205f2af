"""ufm: Python bindings for libufm (the C ABI of the ufm engine), through ctypes.

No compiled extension: the package loads libufm.so at import. It looks, in order, at the
environment variable UFM_LIBRARY (a path to the library), then asks the system loader for
"ufm" (LD_LIBRARY_PATH, ldconfig). Matrices go in and come out as float64 numpy arrays
(copied, in either memory order).

    import ufm
    with ufm.Trainer(open("examples/jobs/figure1.json").read(), base_dir="examples/jobs") as t:
        t.run()
        res = t.result()
    print(res.summary()["loss"], res.class_mean_logits())
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
from ctypes import POINTER, byref, c_char_p, c_double, c_int, c_int32, c_size_t, c_uint32
from ctypes import c_uint64, c_void_p

import numpy as np

__all__ = [
    "UFMError", "Trainer", "Result", "ABI_VERSION", "version", "abi_version",
    "validate_job", "load_plugin", "singular_values", "relative_rank", "class_means", "nc1", "nc1_quotient",
    "nc2", "nc3", "simplex_cosine", "classify", "theory_compare", "theory_loss",
    "theory_critical_scales", "theory_lambda_max", "theory_family", "theory_family_hessian",
]

#: The ABI version these bindings are written for (UFM_ABI_VERSION of ufm.h).
ABI_VERSION = 2

STATUS_NAMES = {
    0: "UFM_STATUS_OK", 1: "UFM_STATUS_PANIC", 2: "UFM_STATUS_NULL_POINTER",
    3: "UFM_STATUS_INVALID_ARGUMENT", 4: "UFM_STATUS_INVALID_JOB", 5: "UFM_STATUS_SIZE_MISMATCH",
    6: "UFM_STATUS_BUFFER_TOO_SMALL", 7: "UFM_STATUS_INVALID_HANDLE", 8: "UFM_STATUS_RUNTIME",
    9: "UFM_STATUS_INVALID_UTF8", 10: "UFM_STATUS_UNSUPPORTED", 11: "UFM_STATUS_PLUGIN",
    12: "UFM_STATUS_STRUCT_SIZE",
}
RUN_STATUS = {0: "converged", 1: "max_steps", 2: "diverged", 3: "cancelled", 4: "failed"}
CLASSIFICATION = {0: "dnc", 1: "low_rank", 2: "other"}


class UFMError(Exception):
    """A failed libufm call: `status` (int), `status_name` and the library's `message`."""

    def __init__(self, status: int, message: str):
        self.status = status
        self.status_name = STATUS_NAMES.get(status, "UFM_STATUS_UNKNOWN")
        self.message = message
        super().__init__(f"{self.status_name}: {message}")


class _Matrix(ctypes.Structure):
    _fields_ = [("data", c_void_p), ("nrows", c_size_t), ("ncols", c_size_t),
                ("row_stride", ctypes.c_ssize_t), ("col_stride", ctypes.c_ssize_t)]


class _Versioned(ctypes.Structure):
    """A versioned out-struct of ufm.h: `struct_size` (first field) is set to its size here,
    before the library writes the rest (docs/c-api.md, "Versioned out-structs")."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.struct_size = ctypes.sizeof(self)


class _Loss(_Versioned):
    _fields_ = [("struct_size", c_size_t), ("loss", c_double), ("fit", c_double), ("reg", c_double), ("grad_norm", c_double)]


class _Summary(_Versioned):
    _fields_ = [("struct_size", c_size_t), ("status", c_int), ("steps", c_uint64), ("loss", c_double), ("fit", c_double),
                ("reg", c_double), ("grad_norm", c_double), ("train_accuracy", c_double),
                ("logit_rank", c_size_t), ("simplex_cosine", c_double),
                ("classification", c_int), ("dnc_loss", c_double),
                ("low_rank_loss", c_double)]


class _Compare(_Versioned):
    _fields_ = [("struct_size", c_size_t), ("dnc_loss", c_double), ("dnc_scale", c_double), ("low_rank_loss", c_double),
                ("low_rank_scale", c_double), ("theorem1_holds", c_int32)]


class _FamilyMember(_Versioned):
    _fields_ = [("struct_size", c_size_t), ("pairs", c_size_t), ("simplex_size", c_size_t), ("rank", c_size_t),
                ("loss", c_double), ("pair_scale", c_double), ("simplex_scale", c_double)]


_PROGRESS = ctypes.CFUNCTYPE(None, c_void_p, c_uint64, c_uint64, c_double)
_CANCEL = ctypes.CFUNCTYPE(c_int, c_void_p)
_ERR = POINTER(c_void_p)


def _load() -> ctypes.CDLL:
    path = os.environ.get("UFM_LIBRARY") or ctypes.util.find_library("ufm")
    if not path:
        raise ImportError("libufm not found: set UFM_LIBRARY to the path of libufm.so "
                          "(built by `cargo build --release -p ufm-ffi` in target/release/)")
    return ctypes.CDLL(path)


_lib = _load()

_SIGS = {
    "ufm_version": (c_char_p, []),
    "ufm_abi_version": (c_uint32, []),
    "ufm_status_name": (c_char_p, [c_int32]),
    "ufm_error_message": (c_char_p, [c_void_p]),
    "ufm_error_status": (c_int, [c_void_p]),
    "ufm_error_free": (None, [c_void_p]),
    "ufm_job_validate": (c_int, [c_char_p, _ERR]),
    "ufm_plugin_load": (c_int, [c_char_p, _ERR]),
    "ufm_analyze": (c_int, [c_char_p, c_char_p, c_char_p, _ERR]),
    "ufm_trainer_new": (c_int, [c_char_p, c_char_p, POINTER(c_void_p), _ERR]),
    "ufm_trainer_free": (None, [c_void_p]),
    "ufm_trainer_param_count": (c_int, [c_void_p, POINTER(c_size_t), _ERR]),
    "ufm_trainer_param_shape": (c_int, [c_void_p, c_size_t, POINTER(c_size_t),
                                        POINTER(c_size_t), _ERR]),
    "ufm_trainer_get_param": (c_int, [c_void_p, c_size_t, _Matrix, _ERR]),
    "ufm_trainer_set_param": (c_int, [c_void_p, c_size_t, _Matrix, _ERR]),
    "ufm_trainer_get_gradient": (c_int, [c_void_p, c_size_t, _Matrix, _ERR]),
    "ufm_trainer_loss": (c_int, [c_void_p, POINTER(_Loss), _ERR]),
    "ufm_trainer_steps": (c_int, [c_void_p, POINTER(c_uint64), _ERR]),
    "ufm_trainer_step": (c_int, [c_void_p, c_uint64, POINTER(c_uint64), _ERR]),
    "ufm_trainer_run": (c_int, [c_void_p, _PROGRESS, _CANCEL, c_void_p, POINTER(c_int), _ERR]),
    "ufm_trainer_result": (c_int, [c_void_p, POINTER(c_void_p), _ERR]),
    "ufm_result_free": (None, [c_void_p]),
    "ufm_result_json": (c_int, [c_void_p, POINTER(c_char_p), POINTER(c_size_t), _ERR]),
    "ufm_result_summary": (c_int, [c_void_p, POINTER(_Summary), _ERR]),
    "ufm_result_array_shape": (c_int, [c_void_p, c_int32, POINTER(c_size_t),
                                       POINTER(c_size_t), _ERR]),
    "ufm_result_array": (c_int, [c_void_p, c_int32, _Matrix, _ERR]),
    "ufm_result_write": (c_int, [c_void_p, c_char_p, _ERR]),
    "ufm_singular_values": (c_int, [_Matrix, POINTER(c_double), c_size_t, POINTER(c_size_t),
                                    _ERR]),
    "ufm_relative_rank": (c_int, [POINTER(c_double), c_size_t, c_double, POINTER(c_size_t),
                                  _ERR]),
    "ufm_class_means": (c_int, [_Matrix, POINTER(c_size_t), c_size_t, _Matrix, _ERR]),
    "ufm_nc_metric": (c_int, [c_int32, _Matrix, POINTER(c_size_t), c_size_t, POINTER(c_double),
                              _ERR]),
    "ufm_nc3": (c_int, [_Matrix, _Matrix, POINTER(c_size_t), c_size_t, POINTER(c_double), _ERR]),
    "ufm_simplex_cosine": (c_int, [_Matrix, POINTER(c_double), _ERR]),
    "ufm_classify": (c_int, [_Matrix, POINTER(c_size_t), c_size_t, c_double, POINTER(c_int),
                             _ERR]),
    "ufm_theory_compare": (c_int, [c_size_t, c_size_t, c_size_t, c_double, POINTER(_Compare),
                                   _ERR]),
    "ufm_theory_loss": (c_int, [c_int32, c_size_t, c_size_t, c_size_t, c_double, c_double,
                                POINTER(c_double), _ERR]),
    "ufm_theory_critical_scales": (c_int, [c_int32, c_size_t, c_size_t, c_size_t, c_double,
                                           POINTER(c_double), c_size_t, POINTER(c_size_t), _ERR]),
    "ufm_theory_lambda_max": (c_int, [c_int32, c_size_t, c_size_t, c_size_t, POINTER(c_double),
                                      _ERR]),
    "ufm_theory_family": (c_int, [c_size_t, c_size_t, c_size_t, c_double, POINTER(_FamilyMember),
                                  c_size_t, POINTER(c_size_t), _ERR]),
    "ufm_theory_family_hessian": (c_int, [c_size_t, c_size_t, c_size_t, c_double, c_size_t,
                                          c_size_t, POINTER(c_int), POINTER(c_size_t),
                                          POINTER(c_double), _ERR]),
}
for _name, (_res, _args) in _SIGS.items():
    _f = getattr(_lib, _name)
    _f.restype = _res
    _f.argtypes = _args

if _lib.ufm_abi_version() != ABI_VERSION:
    raise ImportError(f"libufm has ABI version {_lib.ufm_abi_version()}, these bindings need "
                      f"{ABI_VERSION}")


def version() -> str:
    """The library version, e.g. '0.1.0'."""
    return _lib.ufm_version().decode()


def abi_version() -> int:
    return int(_lib.ufm_abi_version())


def _call(fn, *args):
    """Call `fn(*args, &err)`; raise UFMError on failure."""
    err = c_void_p()
    status = fn(*args, byref(err))
    if status != 0:
        msg = (_lib.ufm_error_message(err) or b"").decode("utf-8", "replace")
        _lib.ufm_error_free(err)
        raise UFMError(status, msg)


def _view(a: np.ndarray) -> _Matrix:
    """A ufm_matrix over a 2-D float64 array (any strides >= 0, aligned)."""
    st = [s // 8 for s in a.strides]
    return _Matrix(a.ctypes.data, a.shape[0], a.shape[1], st[0], st[1])


def _input(m) -> np.ndarray:
    a = np.asarray(m, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D matrix, got {a.ndim} dimensions")
    if any(s < 0 or s % 8 for s in a.strides) or not a.flags.aligned:
        a = np.ascontiguousarray(a)
    return a


def _sizes(class_sizes):
    s = np.ascontiguousarray(class_sizes, dtype=np.uintp)
    return s, s.ctypes.data_as(POINTER(c_size_t)), len(s)


def _job_text(job) -> bytes:
    return (job if isinstance(job, str) else json.dumps(job)).encode()


def validate_job(job) -> None:
    """Parse and validate a job (JSON text or a dict); raises UFMError naming the field."""
    _call(_lib.ufm_job_validate, _job_text(job))


def load_plugin(path) -> None:
    """Load and check a plugin library (jobs then name it by the same path)."""
    _call(_lib.ufm_plugin_load, os.fsencode(path))


def analyze(layers, labels, weights=None, logits=None, lambda_h=None, lambda_w=None,
            rank_tol: float = 1e-6, out=None, plots: bool = False) -> dict:
    """ufm's measurements (docs/analyze.md) of activations exported from any network.

    layers: dict name -> (N, d) array (or (N, ...), flattened per sample), in order: the inputs of
    the head's matrices h(X), s(W1 h(X)), ...; labels: (N,) classes 0..K-1; weights: optional
    dict name -> (out, in) matrices (nn.Linear layout), weight i taking layer i as input; logits:
    optional (N, K). lambda_h and lambda_w (both or neither) add the head's loss and the DNC bound.
    Returns result.json as a dict; with `out` the folder keeps result.json (and plots/ with
    plots=True). Raises UFMError naming the bad array.
    """
    import json
    import tempfile

    opts = {"rank_tol": rank_tol, "plots": bool(plots)}
    if lambda_h is not None:
        opts["lambda_h"] = float(lambda_h)
    if lambda_w is not None:
        opts["lambda_w"] = float(lambda_w)
    names = list(layers)
    wnames = list(weights or {})
    with tempfile.TemporaryDirectory(prefix="ufm-analyze-") as tmp:
        # Zero-padded prefixes keep the dict order through the folder's name order.
        os.makedirs(os.path.join(tmp, "layers"))
        np.save(os.path.join(tmp, "labels.npy"), np.asarray(labels).astype(np.int64))
        for i, k in enumerate(names):
            np.save(os.path.join(tmp, "layers", f"{i:06d}.npy"), np.asarray(layers[k]))
        if wnames:
            os.makedirs(os.path.join(tmp, "weights"))
            for i, k in enumerate(wnames):
                np.save(os.path.join(tmp, "weights", f"{i:06d}.npy"), np.asarray(weights[k]))
        if logits is not None:
            np.save(os.path.join(tmp, "logits.npy"), np.asarray(logits))
        target = os.fspath(out) if out is not None else os.path.join(tmp, "out")
        opts["name"] = os.path.basename(os.path.abspath(target))
        _call(_lib.ufm_analyze, os.fsencode(tmp), json.dumps(opts).encode(),
              os.fsencode(target))
        path = os.path.join(target, "result.json")
        with open(path) as f:
            report = json.load(f)
        for entry, k in zip(report["layers"], names):
            entry["name"] = str(k)
        for entry, k in zip(report["weights"], wnames):
            entry["name"] = str(k)
        if out is not None:
            with open(path, "w") as f:
                json.dump(report, f, indent=2)
    return report



class _Handle:
    """Owns one library handle: `close()` frees it once (idempotent; also on garbage collection
    and at the end of a `with` block); using it after that raises UFMError (status 7)."""

    _kind = "handle"

    def _free(self, h) -> None:
        raise NotImplementedError

    def close(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h:
            self._free(h)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _handle(self):
        if not self._h:
            raise UFMError(7, f"the {self._kind} is closed")
        return self._h

class Trainer(_Handle):
    """A model being trained, from a job (JSON text or a dict, without `sweep`).

    Not thread-safe: use one Trainer from one thread at a time. `close()` frees it (idempotent;
    also on garbage collection and at the end of a `with` block)."""

    _kind = "trainer"

    def __init__(self, job, base_dir: str | None = None):
        h = c_void_p()
        _call(_lib.ufm_trainer_new, _job_text(job),
              None if base_dir is None else os.fsencode(base_dir), byref(h))
        self._h = h

    def _free(self, h) -> None:
        _lib.ufm_trainer_free(h)

    def param_count(self) -> int:
        n = c_size_t()
        _call(_lib.ufm_trainer_param_count, self._handle(), byref(n))
        return n.value

    def param_shape(self, index: int) -> tuple[int, int]:
        r, c = c_size_t(), c_size_t()
        _call(_lib.ufm_trainer_param_shape, self._handle(), index, byref(r), byref(c))
        return r.value, c.value

    def _get(self, fn, index: int, order: str) -> np.ndarray:
        out = np.empty(self.param_shape(index), dtype=np.float64, order=order)
        _call(fn, self._handle(), index, _view(out))
        return out

    def param(self, index: int, order: str = "C") -> np.ndarray:
        """A copy of parameter `index` (0 = H1, l = W_l)."""
        return self._get(_lib.ufm_trainer_get_param, index, order)

    def params(self) -> list[np.ndarray]:
        return [self.param(i) for i in range(self.param_count())]

    def gradient(self, index: int, order: str = "C") -> np.ndarray:
        return self._get(_lib.ufm_trainer_get_gradient, index, order)

    def set_param(self, index: int, value) -> None:
        """Replace parameter `index` by a copy of `value` (same shape, finite)."""
        a = _input(value)
        _call(_lib.ufm_trainer_set_param, self._handle(), index, _view(a))

    def loss(self) -> dict:
        lo = _Loss()
        _call(_lib.ufm_trainer_loss, self._handle(), byref(lo))
        return {"loss": lo.loss, "fit": lo.fit, "reg": lo.reg, "grad_norm": lo.grad_norm}

    def steps(self) -> int:
        s = c_uint64()
        _call(_lib.ufm_trainer_steps, self._handle(), byref(s))
        return s.value

    def step(self, n: int = 1) -> int:
        """Make up to n updates (no stopping rule); returns how many were made."""
        done = c_uint64()
        _call(_lib.ufm_trainer_step, self._handle(), n, byref(done))
        return done.value

    def run(self, progress=None, cancel=None) -> str:
        """Train to the job's stopping rules. `progress(step, max_steps, loss)` is called at
        recorded steps; `cancel()` returning True stops the run. Returns the run status."""
        errors = []

        def on_progress(_u, step, max_steps, loss):
            try:
                progress(step, max_steps, loss)
            except BaseException as e:  # never let an exception unwind through C
                errors.append(e)

        def on_cancel(_u):
            if errors:  # progress raised: stop, then re-raise below
                return 1
            if cancel is None:
                return 0
            try:
                return 1 if cancel() else 0
            except BaseException as e:
                errors.append(e)
                return 1

        # Keep the ctypes callbacks alive for the whole call.
        p = _PROGRESS(on_progress) if progress else _PROGRESS()
        c = _CANCEL(on_cancel)
        st = c_int()
        _call(_lib.ufm_trainer_run, self._handle(), p, c, None, byref(st))
        if errors:
            raise errors[0]
        return RUN_STATUS[st.value]

    def result(self) -> "Result":
        r = c_void_p()
        _call(_lib.ufm_trainer_result, self._handle(), byref(r))
        return Result(r)


class Result(_Handle):
    """The analysed state of a run (result.json's content). `close()` frees it (idempotent)."""

    _kind = "result"

    def __init__(self, handle: c_void_p):
        self._h = handle

    def _free(self, h) -> None:
        _lib.ufm_result_free(h)

    def json_text(self) -> str:
        p, n = c_char_p(), c_size_t()
        _call(_lib.ufm_result_json, self._handle(), byref(p), byref(n))
        return p.value.decode()

    def json(self) -> dict:
        return json.loads(self.json_text())

    def summary(self) -> dict:
        s = _Summary()
        _call(_lib.ufm_result_summary, self._handle(), byref(s))
        d = {k: getattr(s, k) for k, _ in _Summary._fields_ if k != "struct_size"}
        d["status"] = RUN_STATUS[s.status]
        d["classification"] = CLASSIFICATION[s.classification]
        return d

    def write(self, path) -> None:
        """Write the run folder `ufm run JOB --out path` writes: result.json, curve.csv and
        params/*.npy (the same bytes, apart from result.json's wall-clock `seconds`)."""
        _call(_lib.ufm_result_write, self._handle(), os.fsencode(path))

    def _array(self, which: int, order: str = "C") -> np.ndarray:
        r, c = c_size_t(), c_size_t()
        _call(_lib.ufm_result_array_shape, self._handle(), which, byref(r), byref(c))
        out = np.empty((r.value, c.value), dtype=np.float64, order=order)
        _call(_lib.ufm_result_array, self._handle(), which, _view(out))
        return out

    def curve(self) -> np.ndarray:
        """rows x 5: step, loss, fit, reg, grad_norm."""
        return self._array(0)

    def logit_singular_values(self) -> np.ndarray:
        return self._array(1)[:, 0]

    def class_mean_logits(self) -> np.ndarray:
        """K x K, column c = mean logit vector of class c."""
        return self._array(2)

    def dynamics(self) -> np.ndarray:
        """rows x 11, one per curve row: step, time, logit_rank, logit_sv1..3, simplex_cosine,
        pairs, simplex_size (-1, -1 for `other`), family_distance, nearest_pairs (NaN where
        curve.csv is empty). The commitment step is in json()["dynamics"]."""
        return self._array(3)


def singular_values(m) -> np.ndarray:
    a = _input(m)
    n = c_size_t()
    out = np.empty(min(a.shape), dtype=np.float64)
    _call(_lib.ufm_singular_values, _view(a), out.ctypes.data_as(POINTER(c_double)), len(out),
          byref(n))
    return out


def relative_rank(sv, rank_tol: float) -> int:
    s = np.ascontiguousarray(sv, dtype=np.float64)
    r = c_size_t()
    _call(_lib.ufm_relative_rank, s.ctypes.data_as(POINTER(c_double)), len(s), rank_tol,
          byref(r))
    return r.value


def class_means(features, class_sizes) -> np.ndarray:
    a = _input(features)
    s, sp, k = _sizes(class_sizes)
    out = np.empty((a.shape[0], k), dtype=np.float64)
    _call(_lib.ufm_class_means, _view(a), sp, k, _view(out))
    return out


def _nc(which: int, features, class_sizes) -> float:
    a = _input(features)
    s, sp, k = _sizes(class_sizes)
    v = c_double()
    _call(_lib.ufm_nc_metric, which, _view(a), sp, k, byref(v))
    return v.value


def nc1(features, class_sizes) -> float:
    return _nc(0, features, class_sizes)


def nc1_quotient(features, class_sizes) -> float:
    return _nc(1, features, class_sizes)


def nc2(features, class_sizes) -> float:
    return _nc(2, features, class_sizes)


def nc3(weight, input_features, class_sizes) -> float:
    w, h = _input(weight), _input(input_features)
    s, sp, k = _sizes(class_sizes)
    v = c_double()
    _call(_lib.ufm_nc3, _view(w), _view(h), sp, k, byref(v))
    return v.value


def simplex_cosine(class_mean_logits) -> float:
    v = c_double()
    _call(_lib.ufm_simplex_cosine, _view(_input(class_mean_logits)), byref(v))
    return v.value


def classify(logits, class_sizes, rank_tol: float = 1e-6) -> str:
    a = _input(logits)
    s, sp, k = _sizes(class_sizes)
    c = c_int()
    _call(_lib.ufm_classify, _view(a), sp, k, rank_tol, byref(c))
    return CLASSIFICATION[c.value]


_STRUCTURES = {"dnc": 0, "low_rank": 1}


def theory_compare(classes: int, per_class: int, layers: int, lam: float) -> dict:
    c = _Compare()
    _call(_lib.ufm_theory_compare, classes, per_class, layers, lam, byref(c))
    return {"dnc": {"loss": c.dnc_loss, "scale": c.dnc_scale},
            "low_rank": {"loss": c.low_rank_loss, "scale": c.low_rank_scale},
            "theorem1_holds": bool(c.theorem1_holds)}


def theory_loss(structure: str, classes: int, per_class: int, layers: int, lam: float,
                scale: float) -> float:
    v = c_double()
    _call(_lib.ufm_theory_loss, _STRUCTURES[structure], classes, per_class, layers, lam, scale,
          byref(v))
    return v.value


def theory_critical_scales(structure: str, classes: int, per_class: int, layers: int,
                           lam: float) -> np.ndarray:
    n = c_size_t()
    args = (_STRUCTURES[structure], classes, per_class, layers, lam)
    try:
        _call(_lib.ufm_theory_critical_scales, *args, None, 0, byref(n))
    except UFMError as e:
        if e.status != 6:
            raise
    out = np.empty(n.value, dtype=np.float64)
    _call(_lib.ufm_theory_critical_scales, *args, out.ctypes.data_as(POINTER(c_double)),
          len(out), byref(n))
    return out


def theory_lambda_max(structure: str, classes: int, per_class: int, layers: int) -> float:
    v = c_double()
    _call(_lib.ufm_theory_lambda_max, _STRUCTURES[structure], classes, per_class, layers,
          byref(v))
    return v.value


def _nan_to_none(x: float):
    return None if x != x else x


def theory_family(classes: int, per_class: int, layers: int, lam: float) -> list:
    """Every "p pairs + simplex over K - 2p classes" structure at its optimal scales (p = 0 is
    DNC, p = K/2 the paired Eq. (5) structure): a list of dicts with pairs, simplex_size, rank,
    loss, pair_scale and simplex_scale (None where the structure has no such part)."""
    n = c_size_t()
    args = (classes, per_class, layers, lam)
    try:
        _call(_lib.ufm_theory_family, *args, None, 0, byref(n))
    except UFMError as e:
        if e.status != 6:
            raise
    out = (_FamilyMember * n.value)()
    for m in out:  # ctypes arrays skip __init__; the library reads out[0].struct_size
        m.struct_size = ctypes.sizeof(_FamilyMember)
    _call(_lib.ufm_theory_family, *args, out, n.value, byref(n))
    return [{"pairs": m.pairs, "simplex_size": m.simplex_size, "rank": m.rank, "loss": m.loss,
             "pair_scale": _nan_to_none(m.pair_scale),
             "simplex_scale": _nan_to_none(m.simplex_scale)} for m in out]


HESSIAN_VERDICTS = {0: "minimum", 1: "degenerate", 2: "strict_saddle", 3: "other"}


def theory_family_hessian(classes: int, per_class: int, layers: int, lam: float, pairs: int,
                          width: int) -> dict:
    """The dense Hessian verdict at the constructed member with `pairs` pairs (large roots,
    width `width`): classification, negative (count) and smallest_beyond_symmetry."""
    v, neg, sm = c_int(), c_size_t(), c_double()
    _call(_lib.ufm_theory_family_hessian, classes, per_class, layers, lam, pairs, width,
          byref(v), byref(neg), byref(sm))
    return {"classification": HESSIAN_VERDICTS[v.value], "negative": neg.value,
            "smallest_beyond_symmetry": _nan_to_none(sm.value)}
