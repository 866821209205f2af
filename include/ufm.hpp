// ufm.hpp: header-only C++17 RAII wrapper over ufm.h (libufm). Hand-written.
//
// - ufm::Trainer and ufm::Result own their handles (std::unique_ptr with the library's _free as
//   deleter); they are movable, not copyable.
// - Every failing call throws ufm::Error, which carries the ufm_status and the library's message.
// - Matrices are ufm::Matrix: an owning, row-major std::vector<double> with its shape; any
//   strided layout can also be passed directly with the *_view overloads.
// - Thread rules are those of ufm.h: one Trainer or Result must not be used from two threads at
//   once; separate objects may be used from separate threads.
#ifndef UFM_HPP
#define UFM_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ufm.h"

namespace ufm {

/// A failed libufm call: the status and the library's message.
class Error : public std::runtime_error {
public:
    Error(ufm_status status, const std::string &message)
        : std::runtime_error(std::string(ufm_status_name(static_cast<int32_t>(status))) + ": " +
                             message),
          status_(status), message_(message) {}
    ufm_status status() const noexcept { return status_; }
    const std::string &message() const noexcept { return message_; }

private:
    ufm_status status_;
    std::string message_;
};

namespace detail {
struct ErrorDeleter {
    void operator()(ufm_error *e) const noexcept { ufm_error_free(e); }
};
struct TrainerDeleter {
    void operator()(ufm_trainer *t) const noexcept { ufm_trainer_free(t); }
};
struct ResultDeleter {
    void operator()(ufm_result *r) const noexcept { ufm_result_free(r); }
};

/// Call `f(..., &err)` and throw ufm::Error unless it returns UFM_STATUS_OK.
template <typename F, typename... Args> inline void check(F f, Args... args) {
    ufm_error *raw = nullptr;
    ufm_status s = f(args..., &raw);
    std::unique_ptr<ufm_error, ErrorDeleter> err(raw);
    if (s != UFM_STATUS_OK) throw Error(s, ufm_error_message(err.get()));
}
} // namespace detail

/// An owning row-major matrix of doubles.
struct Matrix {
    std::size_t rows = 0, cols = 0;
    std::vector<double> data;

    Matrix() = default;
    Matrix(std::size_t r, std::size_t c) : rows(r), cols(c), data(r * c) {}
    double &operator()(std::size_t i, std::size_t j) { return data[i * cols + j]; }
    double operator()(std::size_t i, std::size_t j) const { return data[i * cols + j]; }
    ufm_matrix view() const {
        return ufm_matrix{data.data(), rows, cols, static_cast<ptrdiff_t>(cols), 1};
    }
    ufm_matrix_mut view_mut() {
        return ufm_matrix_mut{data.data(), rows, cols, static_cast<ptrdiff_t>(cols), 1};
    }
};

/// Throw unless the library's ABI is the one this header describes.
inline void check_abi() {
    if (ufm_abi_version() != UFM_ABI_VERSION)
        throw Error(UFM_STATUS_UNSUPPORTED, "libufm ABI version " +
                                                std::to_string(ufm_abi_version()) +
                                                ", ufm.h describes " +
                                                std::to_string(UFM_ABI_VERSION));
}

inline std::string version() { return ufm_version(); }

/// Validate a job (JSON text); throws ufm::Error naming the field.
inline void validate_job(const std::string &job_json) {
    detail::check(ufm_job_validate, job_json.c_str());
}

/// Load and check a plugin library; throws ufm::Error (UFM_STATUS_PLUGIN) on failure.
inline void load_plugin(const std::string &path) { detail::check(ufm_plugin_load, path.c_str()); }

/// The scalar summary, loss and progress types of ufm.h.
using Summary = ufm_summary;
using Loss = ufm_loss;

/// The analysed state of a run.
class Result {
public:
    explicit Result(ufm_result *r) : h_(r) {}
    ufm_result *get() const noexcept { return h_.get(); }
    /// The handle for the library's read-only calls.
    const ufm_result *cget() const noexcept { return h_.get(); }

    std::string json() const {
        const char *p = nullptr;
        std::size_t n = 0;
        detail::check(ufm_result_json, cget(), &p, &n);
        return std::string(p, n);
    }
    Summary summary() const {
        Summary s{};
        s.struct_size = sizeof s; // versioned out-struct
        detail::check(ufm_result_summary, cget(), &s);
        return s;
    }
    /// Write the run folder `ufm run JOB --out dir` writes (result.json, curve.csv, params/).
    void write(const std::string &dir) const {
        detail::check(ufm_result_write, cget(), dir.c_str());
    }
    /// UFM_ARRAY_CURVE (rows x 5), UFM_ARRAY_LOGIT_SINGULAR_VALUES (K x 1),
    /// UFM_ARRAY_CLASS_MEAN_LOGITS (K x K, column c = class c), UFM_ARRAY_DYNAMICS (rows x 11).
    Matrix array(ufm_array which) const {
        std::size_t r = 0, c = 0;
        detail::check(ufm_result_array_shape, cget(), static_cast<int32_t>(which), &r, &c);
        Matrix m(r, c);
        detail::check(ufm_result_array, cget(), static_cast<int32_t>(which), m.view_mut());
        return m;
    }

private:
    std::unique_ptr<ufm_result, detail::ResultDeleter> h_;
};

/// A model being trained, from a job (JSON text, no `sweep`).
class Trainer {
public:
    /// `base_dir`: the folder relative paths in the job refer to (the job file's folder).
    explicit Trainer(const std::string &job_json, const std::string &base_dir = ".") {
        ufm_trainer *t = nullptr;
        detail::check(ufm_trainer_new, job_json.c_str(), base_dir.c_str(), &t);
        h_.reset(t);
    }
    ufm_trainer *get() const noexcept { return h_.get(); }

    std::size_t param_count() const {
        std::size_t n = 0;
        detail::check(ufm_trainer_param_count, h_.get(), &n);
        return n;
    }
    std::pair<std::size_t, std::size_t> param_shape(std::size_t index) const {
        std::size_t r = 0, c = 0;
        detail::check(ufm_trainer_param_shape, h_.get(), index, &r, &c);
        return {r, c};
    }
    /// Parameter `index` (0 = H1, l = W_l), copied.
    Matrix param(std::size_t index) const {
        auto [r, c] = param_shape(index);
        Matrix m(r, c);
        detail::check(ufm_trainer_get_param, h_.get(), index, m.view_mut());
        return m;
    }
    void param_view(std::size_t index, ufm_matrix_mut dst) const {
        detail::check(ufm_trainer_get_param, h_.get(), index, dst);
    }
    Matrix gradient(std::size_t index) const {
        auto [r, c] = param_shape(index);
        Matrix m(r, c);
        detail::check(ufm_trainer_get_gradient, h_.get(), index, m.view_mut());
        return m;
    }
    void set_param(std::size_t index, const Matrix &m) { set_param_view(index, m.view()); }
    void set_param_view(std::size_t index, ufm_matrix src) {
        detail::check(ufm_trainer_set_param, h_.get(), index, src);
    }
    Loss loss() const {
        Loss l{};
        l.struct_size = sizeof l; // versioned out-struct
        detail::check(ufm_trainer_loss, h_.get(), &l);
        return l;
    }
    std::uint64_t steps() const {
        std::uint64_t s = 0;
        detail::check(ufm_trainer_steps, h_.get(), &s);
        return s;
    }
    /// Up to n updates without stopping rules; returns how many were made.
    std::uint64_t step(std::uint64_t n) {
        std::uint64_t done = 0;
        detail::check(ufm_trainer_step, h_.get(), n, &done);
        return done;
    }

    using Progress = std::function<void(std::uint64_t step, std::uint64_t max_steps, double loss)>;
    using Cancel = std::function<bool()>;

    /// Train to the job's stopping rules. An exception thrown by a callback stops the run and is
    /// rethrown here (it never crosses the C boundary).
    ufm_run_status run(Progress progress = nullptr, Cancel cancel = nullptr) {
        State st{std::move(progress), std::move(cancel), nullptr};
        ufm_run_status status = UFM_RUN_FAILED;
        detail::check(ufm_trainer_run, h_.get(), &Trainer::on_progress, &Trainer::on_cancel,
                      static_cast<void *>(&st), &status);
        if (st.exception) std::rethrow_exception(st.exception);
        return status;
    }
    Result result() const {
        ufm_result *r = nullptr;
        detail::check(ufm_trainer_result, h_.get(), &r);
        return Result(r);
    }

private:
    struct State {
        Progress progress;
        Cancel cancel;
        std::exception_ptr exception;
    };
    static void on_progress(void *user, std::uint64_t step, std::uint64_t max_steps,
                            double loss) {
        auto *st = static_cast<State *>(user);
        if (!st->progress || st->exception) return;
        try {
            st->progress(step, max_steps, loss);
        } catch (...) {
            st->exception = std::current_exception();
        }
    }
    static int on_cancel(void *user) {
        auto *st = static_cast<State *>(user);
        if (st->exception) return 1;
        if (!st->cancel) return 0;
        try {
            return st->cancel() ? 1 : 0;
        } catch (...) {
            st->exception = std::current_exception();
            return 1;
        }
    }
    std::unique_ptr<ufm_trainer, detail::TrainerDeleter> h_;
};

/// Analysis on caller matrices (columns of features in class order).
inline std::vector<double> singular_values(ufm_matrix m) {
    std::size_t n = 0;
    std::vector<double> out(m.nrows < m.ncols ? m.nrows : m.ncols);
    detail::check(ufm_singular_values, m, out.data(), out.size(), &n);
    out.resize(n);
    return out;
}
inline double nc_metric(ufm_nc which, ufm_matrix features,
                        const std::vector<std::size_t> &class_sizes) {
    double v = 0;
    detail::check(ufm_nc_metric, static_cast<int32_t>(which), features, class_sizes.data(),
                  class_sizes.size(), &v);
    return v;
}
inline double simplex_cosine(ufm_matrix class_mean_logits) {
    double v = 0;
    detail::check(ufm_simplex_cosine, class_mean_logits, &v);
    return v;
}
inline ufm_compare theory_compare(std::size_t classes, std::size_t per_class,
                                  std::size_t layers, double lambda) {
    ufm_compare c{};
    c.struct_size = sizeof c; // versioned out-struct
    detail::check(ufm_theory_compare, classes, per_class, layers, lambda, &c);
    return c;
}

} // namespace ufm

#endif // UFM_HPP
