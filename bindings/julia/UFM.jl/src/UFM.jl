"""
    UFM

Julia bindings for libufm, the C ABI of the ufm engine (deep unconstrained feature model), with
`@ccall`. The library is found through `ENV["UFM_LIBRARY"]` (a path to libufm.so) or else the
system loader ("libufm"); the ABI version is checked when the package loads.

Matrices are Julia's column-major `Matrix{Float64}` and cross without transposes (the C side takes
strided views). Handles (`Trainer`, `Result`) are freed by finalizers and by an idempotent
`close`. Failures throw `UFMError(status, message)`.

Every function of `include/ufm.h` is wrapped below with the same number and C types of arguments;
`ffi/tests/julia_signatures.rs` checks this on every `cargo test`.
"""
module UFM

__precompile__(false)  # the library path comes from ENV at load time

import JSON3

export UFMError, Trainer, Result, run!, step!, set_param!, param, params, gradient, loss,
       steps, param_count, param_shape, result, json, summary, curve, logit_singular_values,
       class_mean_logits, write_run, validate_job, load_plugin, analyze, singular_values, relative_rank, class_means, nc1,
       nc1_quotient, nc2, nc3, simplex_cosine, classify, theory_compare, theory_loss,
       theory_critical_scales, theory_lambda_max, theory_family, theory_family_hessian

const libufm = get(ENV, "UFM_LIBRARY", "libufm")

"The ABI version these bindings are written for (UFM_ABI_VERSION of ufm.h)."
const ABI_VERSION = 2

const STATUS_NAMES = Dict(0 => "UFM_STATUS_OK", 1 => "UFM_STATUS_PANIC",
    2 => "UFM_STATUS_NULL_POINTER", 3 => "UFM_STATUS_INVALID_ARGUMENT",
    4 => "UFM_STATUS_INVALID_JOB", 5 => "UFM_STATUS_SIZE_MISMATCH",
    6 => "UFM_STATUS_BUFFER_TOO_SMALL", 7 => "UFM_STATUS_INVALID_HANDLE",
    8 => "UFM_STATUS_RUNTIME", 9 => "UFM_STATUS_INVALID_UTF8", 10 => "UFM_STATUS_UNSUPPORTED",
    11 => "UFM_STATUS_PLUGIN", 12 => "UFM_STATUS_STRUCT_SIZE")
const RUN_STATUS = (:converged, :max_steps, :diverged, :cancelled, :failed)
const CLASSIFICATION = (:dnc, :low_rank, :other)

"A failed libufm call: `status` (the ufm_status value) and the library's `message`."
struct UFMError <: Exception
    status::Int
    message::String
end
Base.showerror(io::IO, e::UFMError) =
    print(io, "UFMError: ", get(STATUS_NAMES, e.status, "UFM_STATUS_UNKNOWN"), ": ", e.message)

# ---- C structs (layouts of ufm.h) --------------------------------------------------------------

struct UFMMatrix
    data::Ptr{Cdouble}
    nrows::Csize_t
    ncols::Csize_t
    row_stride::Cptrdiff_t
    col_stride::Cptrdiff_t
end

struct UFMMatrixMut
    data::Ptr{Cdouble}
    nrows::Csize_t
    ncols::Csize_t
    row_stride::Cptrdiff_t
    col_stride::Cptrdiff_t
end

struct UFMLoss
    struct_size::Csize_t
    loss::Cdouble
    fit::Cdouble
    reg::Cdouble
    grad_norm::Cdouble
end

struct UFMSummary
    struct_size::Csize_t
    status::Cint
    steps::UInt64
    loss::Cdouble
    fit::Cdouble
    reg::Cdouble
    grad_norm::Cdouble
    train_accuracy::Cdouble
    logit_rank::Csize_t
    simplex_cosine::Cdouble
    classification::Cint
    dnc_loss::Cdouble
    low_rank_loss::Cdouble
end

struct UFMCompare
    struct_size::Csize_t
    dnc_loss::Cdouble
    dnc_scale::Cdouble
    low_rank_loss::Cdouble
    low_rank_scale::Cdouble
    theorem1_holds::Int32
end

struct UFMFamilyMember
    struct_size::Csize_t
    pairs::Csize_t
    simplex_size::Csize_t
    rank::Csize_t
    loss::Cdouble
    pair_scale::Cdouble
    simplex_scale::Cdouble
end

# Versioned out-structs (docs/c-api.md): the caller sets struct_size = sizeof before the call and
# the library fills the other fields. `sized(T)` is such a T with every other field zero.
sized(::Type{T}) where {T} =
    T(Csize_t(sizeof(T)), (zero(fieldtype(T, i)) for i in 2:fieldcount(T))...)

# A strided view of a Julia array (column-major: row stride 1, column stride = leading dim).
# The caller must keep `a` alive (GC.@preserve) while the view is used.
view_in(a::StridedMatrix{Float64}) =
    UFMMatrix(pointer(a), size(a, 1), size(a, 2), stride(a, 1), stride(a, 2))
view_out(a::StridedMatrix{Float64}) =
    UFMMatrixMut(pointer(a), size(a, 1), size(a, 2), stride(a, 1), stride(a, 2))
as_input(m::AbstractMatrix) =
    (m isa StridedMatrix{Float64} && all(>=(0), strides(m))) ? m : Matrix{Float64}(m)

# ---- raw wrappers: one per function of ufm.h ----------------------------------------------------

ufm_version() = @ccall libufm.ufm_version()::Cstring
ufm_abi_version() = @ccall libufm.ufm_abi_version()::UInt32
ufm_status_name(s) = @ccall libufm.ufm_status_name(s::Int32)::Cstring
ufm_error_message(e) = @ccall libufm.ufm_error_message(e::Ptr{Cvoid})::Cstring
ufm_error_status(e) = @ccall libufm.ufm_error_status(e::Ptr{Cvoid})::Cint
ufm_error_free(e) = @ccall libufm.ufm_error_free(e::Ptr{Cvoid})::Cvoid
ufm_job_validate(j, err) = @ccall libufm.ufm_job_validate(j::Cstring, err::Ptr{Ptr{Cvoid}})::Cint
ufm_plugin_load(p, err) = @ccall libufm.ufm_plugin_load(p::Cstring, err::Ptr{Ptr{Cvoid}})::Cint
ufm_analyze(d, o, out, err) = @ccall libufm.ufm_analyze(d::Cstring, o::Cstring, out::Cstring,
    err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_new(j, dir, out, err) = @ccall libufm.ufm_trainer_new(j::Cstring, dir::Cstring,
    out::Ptr{Ptr{Cvoid}}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_free(t) = @ccall libufm.ufm_trainer_free(t::Ptr{Cvoid})::Cvoid
ufm_trainer_param_count(t, n, err) = @ccall libufm.ufm_trainer_param_count(t::Ptr{Cvoid},
    n::Ptr{Csize_t}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_param_shape(t, i, r, c, err) = @ccall libufm.ufm_trainer_param_shape(t::Ptr{Cvoid},
    i::Csize_t, r::Ptr{Csize_t}, c::Ptr{Csize_t}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_get_param(t, i, dst, err) = @ccall libufm.ufm_trainer_get_param(t::Ptr{Cvoid},
    i::Csize_t, dst::UFMMatrixMut, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_set_param(t, i, src, err) = @ccall libufm.ufm_trainer_set_param(t::Ptr{Cvoid},
    i::Csize_t, src::UFMMatrix, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_get_gradient(t, i, dst, err) = @ccall libufm.ufm_trainer_get_gradient(
    t::Ptr{Cvoid}, i::Csize_t, dst::UFMMatrixMut, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_loss(t, out, err) = @ccall libufm.ufm_trainer_loss(t::Ptr{Cvoid},
    out::Ptr{UFMLoss}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_steps(t, s, err) = @ccall libufm.ufm_trainer_steps(t::Ptr{Cvoid}, s::Ptr{UInt64},
    err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_step(t, n, done, err) = @ccall libufm.ufm_trainer_step(t::Ptr{Cvoid}, n::UInt64,
    done::Ptr{UInt64}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_run(t, progress, cancel, user, status, err) = @ccall libufm.ufm_trainer_run(
    t::Ptr{Cvoid}, progress::Ptr{Cvoid}, cancel::Ptr{Cvoid}, user::Ptr{Cvoid},
    status::Ptr{Cint}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_trainer_result(t, out, err) = @ccall libufm.ufm_trainer_result(t::Ptr{Cvoid},
    out::Ptr{Ptr{Cvoid}}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_result_free(r) = @ccall libufm.ufm_result_free(r::Ptr{Cvoid})::Cvoid
ufm_result_json(r, j, n, err) = @ccall libufm.ufm_result_json(r::Ptr{Cvoid}, j::Ptr{Ptr{UInt8}},
    n::Ptr{Csize_t}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_result_summary(r, out, err) = @ccall libufm.ufm_result_summary(r::Ptr{Cvoid},
    out::Ptr{UFMSummary}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_result_array_shape(r, w, nr, nc, err) = @ccall libufm.ufm_result_array_shape(r::Ptr{Cvoid},
    w::Int32, nr::Ptr{Csize_t}, nc::Ptr{Csize_t}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_result_array(r, w, dst, err) = @ccall libufm.ufm_result_array(r::Ptr{Cvoid}, w::Int32,
    dst::UFMMatrixMut, err::Ptr{Ptr{Cvoid}})::Cint
ufm_result_write(r, dir, err) = @ccall libufm.ufm_result_write(r::Ptr{Cvoid}, dir::Cstring,
    err::Ptr{Ptr{Cvoid}})::Cint
ufm_singular_values(m, v, cap, len, err) = @ccall libufm.ufm_singular_values(m::UFMMatrix,
    v::Ptr{Cdouble}, cap::Csize_t, len::Ptr{Csize_t}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_relative_rank(sv, n, tol, rank, err) = @ccall libufm.ufm_relative_rank(sv::Ptr{Cdouble},
    n::Csize_t, tol::Cdouble, rank::Ptr{Csize_t}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_class_means(f, sizes, k, means, err) = @ccall libufm.ufm_class_means(f::UFMMatrix,
    sizes::Ptr{Csize_t}, k::Csize_t, means::UFMMatrixMut, err::Ptr{Ptr{Cvoid}})::Cint
ufm_nc_metric(w, f, sizes, k, v, err) = @ccall libufm.ufm_nc_metric(w::Int32, f::UFMMatrix,
    sizes::Ptr{Csize_t}, k::Csize_t, v::Ptr{Cdouble}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_nc3(w, h, sizes, k, v, err) = @ccall libufm.ufm_nc3(w::UFMMatrix, h::UFMMatrix,
    sizes::Ptr{Csize_t}, k::Csize_t, v::Ptr{Cdouble}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_simplex_cosine(m, v, err) = @ccall libufm.ufm_simplex_cosine(m::UFMMatrix, v::Ptr{Cdouble},
    err::Ptr{Ptr{Cvoid}})::Cint
ufm_classify(z, sizes, k, tol, c, err) = @ccall libufm.ufm_classify(z::UFMMatrix,
    sizes::Ptr{Csize_t}, k::Csize_t, tol::Cdouble, c::Ptr{Cint}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_theory_compare(k, n, l, lam, out, err) = @ccall libufm.ufm_theory_compare(k::Csize_t,
    n::Csize_t, l::Csize_t, lam::Cdouble, out::Ptr{UFMCompare}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_theory_loss(s, k, n, l, lam, scale, v, err) = @ccall libufm.ufm_theory_loss(s::Int32,
    k::Csize_t, n::Csize_t, l::Csize_t, lam::Cdouble, scale::Cdouble, v::Ptr{Cdouble},
    err::Ptr{Ptr{Cvoid}})::Cint
ufm_theory_critical_scales(s, k, n, l, lam, roots, cap, len, err) =
    @ccall libufm.ufm_theory_critical_scales(s::Int32, k::Csize_t, n::Csize_t, l::Csize_t,
        lam::Cdouble, roots::Ptr{Cdouble}, cap::Csize_t, len::Ptr{Csize_t},
        err::Ptr{Ptr{Cvoid}})::Cint
ufm_theory_lambda_max(s, k, n, l, v, err) = @ccall libufm.ufm_theory_lambda_max(s::Int32,
    k::Csize_t, n::Csize_t, l::Csize_t, v::Ptr{Cdouble}, err::Ptr{Ptr{Cvoid}})::Cint
ufm_theory_family(k, n, l, lam, members, cap, len, err) =
    @ccall libufm.ufm_theory_family(k::Csize_t, n::Csize_t, l::Csize_t, lam::Cdouble,
        members::Ptr{UFMFamilyMember}, cap::Csize_t, len::Ptr{Csize_t},
        err::Ptr{Ptr{Cvoid}})::Cint
ufm_theory_family_hessian(k, n, l, lam, p, d, verdict, neg, smallest, err) =
    @ccall libufm.ufm_theory_family_hessian(k::Csize_t, n::Csize_t, l::Csize_t, lam::Cdouble,
        p::Csize_t, d::Csize_t, verdict::Ptr{Cint}, neg::Ptr{Csize_t}, smallest::Ptr{Cdouble},
        err::Ptr{Ptr{Cvoid}})::Cint

# ---- error handling -----------------------------------------------------------------------------

"Call `f(args..., err)` and throw UFMError unless it returns UFM_STATUS_OK."
function check(f, args...)
    err = Ref{Ptr{Cvoid}}(C_NULL)
    status = f(args..., err)
    if status != 0
        msg = unsafe_string(ufm_error_message(err[]))
        ufm_error_free(err[])
        throw(UFMError(Int(status), msg))
    end
    nothing
end

version() = unsafe_string(ufm_version())
abi_version() = Int(ufm_abi_version())

function __init__()
    abi = ufm_abi_version()
    abi == ABI_VERSION ||
        error("libufm at $(libufm) has ABI version $(abi); UFM.jl needs $(ABI_VERSION)")
end

job_text(job::AbstractString) = String(job)
job_text(job) = JSON3.write(job)

"Parse and validate a job (JSON text or a Dict); throws UFMError naming the field."
validate_job(job) = check(ufm_job_validate, job_text(job))

"Load and check a plugin library (jobs then name it by the same path)."
load_plugin(path::AbstractString) = check(ufm_plugin_load, String(path))

"""
    analyze(dir, out_dir; options="{}")

Measure the activations exported in `dir` (labels.npy, layers/, optional weights/ and logits.npy;
docs/analyze.md) into `out_dir/result.json`; returns its text. `options` is JSON text
(`rank_tol`, `lambda_h`, `lambda_w`, `max_memory_gib`, `plots`, `name`).
"""
function analyze(dir::AbstractString, out_dir::AbstractString; options::AbstractString="{}")
    check(ufm_analyze, String(dir), String(options), String(out_dir))
    read(joinpath(out_dir, "result.json"), String)
end

# ---- Trainer and Result -------------------------------------------------------------------------

"""
    Trainer(job; base_dir=".")

A model being trained, from a job (JSON text or a Dict, without `sweep`). Not thread-safe: use
one Trainer from one task at a time. Freed by its finalizer or by `close` (idempotent).
"""
mutable struct Trainer
    ptr::Ptr{Cvoid}
    function Trainer(job; base_dir::AbstractString=".")
        out = Ref{Ptr{Cvoid}}(C_NULL)
        check(ufm_trainer_new, job_text(job), String(base_dir), out)
        t = new(out[])
        finalizer(close, t)
        t
    end
end

function Base.close(t::Trainer)
    p = t.ptr
    t.ptr = C_NULL
    p == C_NULL || ufm_trainer_free(p)
    nothing
end

handle(t::Trainer) = t.ptr == C_NULL ? throw(UFMError(7, "the trainer is closed")) : t.ptr

function param_count(t::Trainer)
    n = Ref{Csize_t}(0)
    check(ufm_trainer_param_count, handle(t), n)
    Int(n[])
end

function param_shape(t::Trainer, index::Integer)
    r, c = Ref{Csize_t}(0), Ref{Csize_t}(0)
    check(ufm_trainer_param_shape, handle(t), index, r, c)
    (Int(r[]), Int(c[]))
end

"Parameter `index` (0 = H1, l = W_l) as a new column-major Matrix{Float64}."
function param(t::Trainer, index::Integer)
    m = Matrix{Float64}(undef, param_shape(t, index)...)
    GC.@preserve m check(ufm_trainer_get_param, handle(t), index, view_out(m))
    m
end

params(t::Trainer) = [param(t, i) for i in 0:param_count(t)-1]

function gradient(t::Trainer, index::Integer)
    m = Matrix{Float64}(undef, param_shape(t, index)...)
    GC.@preserve m check(ufm_trainer_get_gradient, handle(t), index, view_out(m))
    m
end

"Replace parameter `index` by a copy of `m` (same shape, finite entries)."
function set_param!(t::Trainer, index::Integer, m::AbstractMatrix)
    a = as_input(m)
    GC.@preserve a check(ufm_trainer_set_param, handle(t), index, view_in(a))
    t
end

function loss(t::Trainer)
    l = Ref(sized(UFMLoss))
    check(ufm_trainer_loss, handle(t), l)
    (loss=l[].loss, fit=l[].fit, reg=l[].reg, grad_norm=l[].grad_norm)
end

function steps(t::Trainer)
    s = Ref{UInt64}(0)
    check(ufm_trainer_steps, handle(t), s)
    Int(s[])
end

"Make up to `n` updates (no stopping rule); returns how many were made."
function step!(t::Trainer, n::Integer=1)
    done = Ref{UInt64}(0)
    check(ufm_trainer_step, handle(t), UInt64(n), done)
    Int(done[])
end

mutable struct Callbacks
    progress::Any
    cancel::Any
    exception::Any
end

function progress_cb(user::Ptr{Cvoid}, step::UInt64, max_steps::UInt64, loss::Cdouble)::Cvoid
    cb = unsafe_pointer_to_objref(user)::Callbacks
    if cb.progress !== nothing && cb.exception === nothing
        try
            cb.progress(Int(step), Int(max_steps), loss)
        catch e
            cb.exception = e
        end
    end
    nothing
end

function cancel_cb(user::Ptr{Cvoid})::Cint
    cb = unsafe_pointer_to_objref(user)::Callbacks
    cb.exception === nothing || return Cint(1)
    cb.cancel === nothing && return Cint(0)
    try
        return cb.cancel() ? Cint(1) : Cint(0)
    catch e
        cb.exception = e
        return Cint(1)
    end
end

"""
    run!(t; progress=nothing, cancel=nothing) -> Symbol

Train to the job's stopping rules. `progress(step, max_steps, loss)` is called at recorded
steps; `cancel()` returning true stops the run. An exception in a callback stops the run and is
rethrown. Returns :converged, :max_steps, :diverged, :cancelled or :failed.
"""
function run!(t::Trainer; progress=nothing, cancel=nothing)
    cb = Callbacks(progress, cancel, nothing)
    pfn = @cfunction(progress_cb, Cvoid, (Ptr{Cvoid}, UInt64, UInt64, Cdouble))
    cfn = @cfunction(cancel_cb, Cint, (Ptr{Cvoid},))
    status = Ref{Cint}(0)
    GC.@preserve cb begin
        check(ufm_trainer_run, handle(t), pfn, cfn, pointer_from_objref(cb), status)
    end
    cb.exception === nothing || throw(cb.exception)
    RUN_STATUS[status[]+1]
end

"The analysed state of a run. Freed by its finalizer or by `close` (idempotent)."
mutable struct Result
    ptr::Ptr{Cvoid}
    function Result(p::Ptr{Cvoid})
        r = new(p)
        finalizer(close, r)
        r
    end
end

function Base.close(r::Result)
    p = r.ptr
    r.ptr = C_NULL
    p == C_NULL || ufm_result_free(p)
    nothing
end

handle(r::Result) = r.ptr == C_NULL ? throw(UFMError(7, "the result is closed")) : r.ptr

function result(t::Trainer)
    out = Ref{Ptr{Cvoid}}(C_NULL)
    check(ufm_trainer_result, handle(t), out)
    Result(out[])
end

"result.json's text."
function json(r::Result)
    p, n = Ref{Ptr{UInt8}}(C_NULL), Ref{Csize_t}(0)
    check(ufm_result_json, handle(r), p, n)
    unsafe_string(p[], n[])
end

function summary(r::Result)
    s = Ref(sized(UFMSummary))
    check(ufm_result_summary, handle(r), s)
    v = s[]
    (status=RUN_STATUS[v.status+1], steps=Int(v.steps), loss=v.loss, fit=v.fit, reg=v.reg,
     grad_norm=v.grad_norm, train_accuracy=v.train_accuracy, logit_rank=Int(v.logit_rank),
     simplex_cosine=v.simplex_cosine, classification=CLASSIFICATION[v.classification+1],
     dnc_loss=v.dnc_loss, low_rank_loss=v.low_rank_loss)
end

function result_array(r::Result, which::Integer)
    nr, nc = Ref{Csize_t}(0), Ref{Csize_t}(0)
    check(ufm_result_array_shape, handle(r), Int32(which), nr, nc)
    m = Matrix{Float64}(undef, Int(nr[]), Int(nc[]))
    GC.@preserve m check(ufm_result_array, handle(r), Int32(which), view_out(m))
    m
end

"rows x 5: step, loss, fit, reg, grad_norm."
curve(r::Result) = result_array(r, 0)

"""Write the run folder `ufm run JOB --out dir` writes (result.json, curve.csv, params/*.npy;
the same bytes apart from result.json's wall-clock `seconds`)."""
function write_run(r::Result, dir::AbstractString)
    check(ufm_result_write, handle(r), dir)
    dir
end
logit_singular_values(r::Result) = vec(result_array(r, 1))
"K x K, column c = mean logit vector of class c."
class_mean_logits(r::Result) = result_array(r, 2)

# ---- analysis on any matrices (columns of features in class order) ------------------------------

sizes_vec(s) = Csize_t[x for x in s]

function singular_values(m::AbstractMatrix)
    a = as_input(m)
    out = Vector{Float64}(undef, minimum(size(a)))
    n = Ref{Csize_t}(0)
    GC.@preserve a out check(ufm_singular_values, view_in(a), pointer(out), length(out), n)
    out
end

function relative_rank(sv::AbstractVector, tol::Real)
    s = Vector{Float64}(sv)
    r = Ref{Csize_t}(0)
    GC.@preserve s check(ufm_relative_rank, pointer(s), length(s), Float64(tol), r)
    Int(r[])
end

function class_means(features::AbstractMatrix, class_sizes)
    a, s = as_input(features), sizes_vec(class_sizes)
    out = Matrix{Float64}(undef, size(a, 1), length(s))
    GC.@preserve a s out check(ufm_class_means, view_in(a), pointer(s), length(s), view_out(out))
    out
end

function nc_metric(which::Integer, features::AbstractMatrix, class_sizes)
    a, s = as_input(features), sizes_vec(class_sizes)
    v = Ref{Cdouble}(0)
    GC.@preserve a s check(ufm_nc_metric, Int32(which), view_in(a), pointer(s), length(s), v)
    v[]
end
nc1(f, sizes) = nc_metric(0, f, sizes)
nc1_quotient(f, sizes) = nc_metric(1, f, sizes)
nc2(f, sizes) = nc_metric(2, f, sizes)

function nc3(weight::AbstractMatrix, input_features::AbstractMatrix, class_sizes)
    w, h, s = as_input(weight), as_input(input_features), sizes_vec(class_sizes)
    v = Ref{Cdouble}(0)
    GC.@preserve w h s check(ufm_nc3, view_in(w), view_in(h), pointer(s), length(s), v)
    v[]
end

function simplex_cosine(m::AbstractMatrix)
    a = as_input(m)
    v = Ref{Cdouble}(0)
    GC.@preserve a check(ufm_simplex_cosine, view_in(a), v)
    v[]
end

function classify(logits::AbstractMatrix, class_sizes; rank_tol::Real=1e-6)
    a, s = as_input(logits), sizes_vec(class_sizes)
    c = Ref{Cint}(0)
    GC.@preserve a s check(ufm_classify, view_in(a), pointer(s), length(s), Float64(rank_tol), c)
    CLASSIFICATION[c[]+1]
end

# ---- theory ---------------------------------------------------------------------------------------

structure_code(s::Symbol) = s === :dnc ? Int32(0) : s === :low_rank ? Int32(1) :
    throw(UFMError(3, "structure: must be :dnc or :low_rank, got :$s"))

function theory_compare(classes, per_class, layers, lambda)
    c = Ref(sized(UFMCompare))
    check(ufm_theory_compare, classes, per_class, layers, Float64(lambda), c)
    v = c[]
    (dnc=(loss=v.dnc_loss, scale=v.dnc_scale),
     low_rank=(loss=v.low_rank_loss, scale=v.low_rank_scale),
     theorem1_holds=v.theorem1_holds != 0)
end

function theory_loss(structure::Symbol, classes, per_class, layers, lambda, scale)
    v = Ref{Cdouble}(0)
    check(ufm_theory_loss, structure_code(structure), classes, per_class, layers,
          Float64(lambda), Float64(scale), v)
    v[]
end

function theory_critical_scales(structure::Symbol, classes, per_class, layers, lambda)
    n = Ref{Csize_t}(0)
    code = structure_code(structure)
    try
        check(ufm_theory_critical_scales, code, classes, per_class, layers, Float64(lambda),
              Ptr{Cdouble}(C_NULL), 0, n)
    catch e
        (e isa UFMError && e.status == 6) || rethrow()
    end
    out = Vector{Float64}(undef, Int(n[]))
    GC.@preserve out check(ufm_theory_critical_scales, code, classes, per_class, layers,
                           Float64(lambda), pointer(out), length(out), n)
    out
end

function theory_lambda_max(structure::Symbol, classes, per_class, layers)
    v = Ref{Cdouble}(0)
    check(ufm_theory_lambda_max, structure_code(structure), classes, per_class, layers, v)
    v[]
end

nan_to_nothing(x) = isnan(x) ? nothing : x

"""Every "p pairs + simplex over K - 2p classes" structure at its optimal scales (p = 0 is DNC,
p = K/2 the paired Eq. (5) structure)."""
function theory_family(classes, per_class, layers, lambda)
    n = Ref{Csize_t}(0)
    try
        check(ufm_theory_family, classes, per_class, layers, Float64(lambda),
              Ptr{UFMFamilyMember}(C_NULL), 0, n)
    catch e
        (e isa UFMError && e.status == 6) || rethrow()
    end
    out = [sized(UFMFamilyMember) for _ in 1:Int(n[])]  # the library reads out[1].struct_size
    GC.@preserve out check(ufm_theory_family, classes, per_class, layers, Float64(lambda),
                           pointer(out), length(out), n)
    [(pairs=Int(m.pairs), simplex_size=Int(m.simplex_size), rank=Int(m.rank), loss=m.loss,
      pair_scale=nan_to_nothing(m.pair_scale), simplex_scale=nan_to_nothing(m.simplex_scale))
     for m in out]
end

const HESSIAN_VERDICTS = (:minimum, :degenerate, :strict_saddle, :other)

"""Dense Hessian verdict at the constructed member with `pairs` pairs (large roots)."""
function theory_family_hessian(classes, per_class, layers, lambda, pairs, width)
    v, neg, sm = Ref{Cint}(0), Ref{Csize_t}(0), Ref{Cdouble}(0)
    check(ufm_theory_family_hessian, classes, per_class, layers, Float64(lambda), pairs, width,
          v, neg, sm)
    (classification=HESSIAN_VERDICTS[v[] + 1], negative=Int(neg[]),
     smallest_beyond_symmetry=nan_to_nothing(sm[]))
end

end # module
