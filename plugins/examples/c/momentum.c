/*
 * A ufm optimiser plugin written in C: heavy-ball momentum with a "trust" factor that scales
 * the gradient, plus a rule that fails on purpose (to show how errors reach the host).
 *
 * Build:  cc -O2 -shared -fPIC -I include plugins/examples/c/momentum.c -o libexample_c.so
 * Use:    "optimizer": {"plugin": "libexample_c.so", "id": "example.c_momentum", "lr": 0.1,
 *                       "params": {"momentum": 0.9, "trust": 1.0}}
 *
 * The -D switches below exist only so that ufm's tests can build broken variants and check that
 * the host refuses each of them with a clear message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ufm_plugin.h"

typedef struct {
    double momentum;
    double trust;
    long fail_at;
} cfg_t;

/* Read `"key": number` from a flat JSON object; returns 1 if found. Enough for an example. */
static int json_number(const char *json, const char *key, double *out) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\"", key);
    const char *p = strstr(json, pattern);
    if (!p) return 0;
    p = strchr(p + strlen(pattern), ':');
    if (!p) return 0;
    char *end;
    double v = strtod(p + 1, &end);
    if (end == p + 1) return 0;
    *out = v;
    return 1;
}

static void set_error(char *err, size_t cap, const char *msg) {
    if (err && cap > 0) {
        snprintf(err, cap, "%s", msg);
    }
}

static int32_t create(const char *params, void **out_cfg, char *err, size_t err_cap) {
    cfg_t *c = malloc(sizeof *c);
    if (!c) { set_error(err, err_cap, "out of memory"); return UFM_PLUGIN_ERR_RUNTIME; }
    c->momentum = 0.9;
    c->trust = 1.0;
    c->fail_at = 0;
    double v;
    if (json_number(params, "momentum", &v)) c->momentum = v;
    if (json_number(params, "trust", &v)) c->trust = v;
    if (json_number(params, "fail_at", &v)) c->fail_at = (long)v;
    if (!(c->momentum >= 0.0 && c->momentum < 1.0)) {
        free(c);
        set_error(err, err_cap, "params.momentum: must be in [0, 1)");
        return UFM_PLUGIN_ERR_PARAMS;
    }
    *out_cfg = c;
    return UFM_PLUGIN_OK;
}

static void destroy(void *cfg) { free(cfg); }

static size_t state_len(const void *cfg, size_t rows, size_t cols) {
    (void)cfg;
#ifdef UFM_EXAMPLE_BAD_STATE_LEN
    (void)rows; (void)cols;
    return SIZE_MAX; /* signals a failure */
#endif
    return rows * cols;
}

static int32_t init_state(const void *cfg, size_t rows, size_t cols, double *state, size_t len,
                          char *err, size_t err_cap) {
    (void)cfg; (void)rows; (void)cols; (void)err; (void)err_cap;
    memset(state, 0, len * sizeof *state);
    return UFM_PLUGIN_OK;
}

static int32_t update(const void *cfgp, uint64_t step, double lr, ufm_plugin_matrix param,
                      ufm_plugin_const_matrix grad, double *state, size_t len, char *err, size_t err_cap) {
    const cfg_t *c = cfgp;
    if (c->fail_at > 0 && step >= (uint64_t)c->fail_at) {
        char msg[128];
        snprintf(msg, sizeof msg, "gave up on purpose at step %llu", (unsigned long long)step);
        set_error(err, err_cap, msg);
        return UFM_PLUGIN_ERR_RUNTIME;
    }
    if (len != param.rows * param.cols) {
        set_error(err, err_cap, "state length mismatch");
        return UFM_PLUGIN_ERR_SHAPE;
    }
    for (size_t j = 0; j < param.cols; j++) {
        for (size_t i = 0; i < param.rows; i++) {
            double *p = param.ptr + (ptrdiff_t)i * param.row_stride + (ptrdiff_t)j * param.col_stride;
            double g = grad.ptr[(ptrdiff_t)i * grad.row_stride + (ptrdiff_t)j * grad.col_stride];
            double *v = &state[j * param.rows + i];
            *v = c->momentum * *v + c->trust * g;
            *p -= lr * *v;
        }
    }
    return UFM_PLUGIN_OK;
}

static const ufm_optimizer_vtable momentum_vt = {
    sizeof(ufm_optimizer_vtable), "example.c_momentum", create, destroy, state_len, init_state,
#ifdef UFM_EXAMPLE_NULL_UPDATE
    NULL,
#else
    update,
#endif
};

#ifdef UFM_EXAMPLE_DUPLICATE_ID
#define SECOND_ID "example.c_momentum"
#else
#define SECOND_ID "example.c_failing"
#endif
static const ufm_optimizer_vtable failing_vt = {
    sizeof(ufm_optimizer_vtable), SECOND_ID, create, destroy, state_len, init_state, update,
};

static const ufm_optimizer_vtable *const optimizers[] = {&momentum_vt, &failing_vt};

static const ufm_plugin_entry entry = {
#ifdef UFM_EXAMPLE_OTHER_MAJOR
    UFM_PLUGIN_ABI_MAJOR + 1,
#else
    UFM_PLUGIN_ABI_MAJOR,
#endif
#ifdef UFM_EXAMPLE_SMALL_ENTRY
    8,
#else
    sizeof(ufm_plugin_entry),
#endif
    UFM_PLUGIN_ABI_MINOR,
    0,
    "ufm example: C momentum",
    optimizers,
    2,
    NULL,
    0,
};

#ifndef UFM_EXAMPLE_NO_ENTRY
const ufm_plugin_entry *ufm_plugin_get_entry(void) { return &entry; }
#else
/* A misspelt entry symbol: the host must refuse the library. */
const ufm_plugin_entry *ufm_plugin_entry_misspelt(void) { return &entry; }
#endif
