# Tests of UFM.jl. Needs UFM_LIBRARY (path to libufm.so); the Figure-1 test also needs
# UFM_FIGURE1_RESULT (result.json of `ufm run examples/jobs/figure1.json`).
using Test
using UFM
import JSON3

const ROOT = normpath(joinpath(@__DIR__, "..", "..", "..", ".."))
const SMOKE = joinpath(ROOT, "examples", "jobs", "smoke.json")

smoke_job() = JSON3.read(read(SMOKE, String), Dict{String,Any})

@testset "UFM.jl" begin
    @test UFM.abi_version() == UFM.ABI_VERSION

    @testset "Figure 1 bit for bit" begin
        path = get(ENV, "UFM_FIGURE1_RESULT", "")
        @test !isempty(path)
        if !isempty(path)
            want = JSON3.read(read(path, String)).final.loss
            job = joinpath(ROOT, "examples", "jobs", "figure1.json")
            t = Trainer(read(job, String); base_dir=dirname(job))
            @test run!(t) == :converged
            r = result(t)
            @test summary(r).loss === Float64(want)
            @test size(class_mean_logits(r)) == (10, 10)
            # The run folder through C equals `ufm run`'s, apart from the wall-clock `seconds`.
            got = write_run(r, mktempdir())
            want_dir = dirname(path)
            for f in ["curve.csv", "params/H1.npy", "params/W1.npy", "params/W2.npy"]
                @test read(joinpath(got, f)) == read(joinpath(want_dir, f))
            end
            noseconds(p) = filter(l -> !startswith(l, "  \"seconds\": "), readlines(p))
            @test noseconds(joinpath(got, "result.json")) == noseconds(path)
            close(r); close(r)
            close(t); close(t)
        end
    end

    @testset "column-major parameters without transposes" begin
        t = Trainer(smoke_job())
        h = param(t, 0)
        @test size(h) == (8, 12)
        set_param!(t, 0, 2 .* h)
        @test param(t, 0) == 2 .* h
        set_param!(t, 0, permutedims(permutedims(h)))  # any strided input
        @test param(t, 0) == h
        @test size(gradient(t, 1)) == (8, 8)
        l = loss(t)
        @test l.loss ≈ l.fit + l.reg
        @test step!(t, 5) == 5 && steps(t) == 5
        calls = Int[]
        @test run!(t; progress=(s, m, l) -> push!(calls, s), cancel=() -> length(calls) >= 2) ==
              :cancelled
        close(t)
        @test_throws UFMError steps(t)
    end

    @testset "errors" begin
        bad = smoke_job()
        bad["model"]["width"] = 0
        e = try
            Trainer(bad); nothing
        catch err
            err
        end
        @test e isa UFMError && e.status == 4 && occursin("model.width", e.message)
        t = Trainer(smoke_job())
        @test_throws UFMError set_param!(t, 0, zeros(3, 3))
        @test_throws UFMError param(t, 9)
        @test_throws UFMError validate_job("{")
        @test_throws UFMError load_plugin("/nonexistent/libnothing.so")
    end

    @testset "analysis and theory" begin
        means = randn(5, 3)
        f = repeat(means, inner=(1, 3))
        @test class_means(f, [3, 3, 3]) ≈ means
        @test nc1(f, [3, 3, 3]) == 0.0
        a = randn(6, 4)
        @test singular_values(a) ≈ singular_values(Matrix(a'))
        c = theory_compare(10, 5, 2, 2.0^-10)
        @test c.theorem1_holds && c.low_rank.loss < c.dnc.loss
        @test theory_loss(:dnc, 10, 5, 2, 2.0^-10, c.dnc.scale) == c.dnc.loss
        @test c.dnc.scale in theory_critical_scales(:dnc, 10, 5, 2, 2.0^-10)
        @test_throws UFMError theory_compare(1, 5, 2, 0.1)
    end
end
