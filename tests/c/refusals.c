/* Refusal paths driven from C (also run under ASan/UBSan): each call must fail with the expected
 * status and a message, and nothing may crash or leak. Exit status 0 when all checks pass. */
#include <stdio.h>
#include <string.h>

#include "ufm.h"

static int failures = 0;

#define EXPECT(call, want)                                                                      \
    do {                                                                                         \
        ufm_status got_ = (call);                                                                \
        if (got_ != (want)) {                                                                    \
            fprintf(stderr, "%s:%d: %s gave %s, expected %s\n", __FILE__, __LINE__, #call,       \
                    ufm_status_name(got_), ufm_status_name(want));                               \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

static const char *JOB =
    "{\"schema_version\": 1, \"model\": {\"classes\": 3, \"per_class\": 2, \"width\": 4,"
    " \"layers\": 2, \"activation\": \"linear\", \"loss\": \"cross_entropy\", \"lambda\": 0.01},"
    " \"init\": {\"name\": \"scaled\", \"seed\": 3}, \"optimizer\": {\"name\": \"gd\", \"lr\": 0.5},"
    " \"train\": {\"max_steps\": 100, \"record_every\": 10}}";

/* JOB with an optimiser plugin library that does not exist: a plugin failure, not an invalid
 * job, from validation as from creating a trainer. */
static const char *PLUGIN_JOB =
    "{\"schema_version\": 1, \"model\": {\"classes\": 3, \"per_class\": 2, \"width\": 4,"
    " \"layers\": 2, \"activation\": \"linear\", \"loss\": \"cross_entropy\", \"lambda\": 0.01},"
    " \"init\": {\"name\": \"scaled\", \"seed\": 3},"
    " \"optimizer\": {\"plugin\": \"nosuch-plugin.so\", \"id\": \"x\", \"lr\": 0.5},"
    " \"train\": {\"max_steps\": 100, \"record_every\": 10}}";

/* `call` must use `&e_` as its error slot: it must fail with `want` and a message. */
#define EXPECT_ERR(call, want)                                                                  \
    do {                                                                                         \
        ufm_error *e_ = NULL;                                                                    \
        ufm_status got_ = (call);                                                                \
        if (got_ != (want) || e_ == NULL || strlen(ufm_error_message(e_)) == 0 ||                \
            ufm_error_status(e_) != (want)) {                                                    \
            fprintf(stderr, "%s:%d: %s gave %s (message '%s'), expected %s\n", __FILE__,         \
                    __LINE__, #call, ufm_status_name(got_), ufm_error_message(e_),               \
                    ufm_status_name(want));                                                      \
            failures++;                                                                          \
        }                                                                                        \
        ufm_error_free(e_);                                                                      \
    } while (0)

int main(void) {
    ufm_trainer *t = NULL, *dead = NULL;
    ufm_result *r = NULL;
    double buf[64];
    size_t rows = 0, cols = 0, len = 0;
    ufm_matrix_mut dst = {buf, 4, 6, 6, 1};
    ufm_matrix src = {buf, 4, 6, 6, 1};
    uint64_t steps = 0;

    EXPECT_ERR(ufm_trainer_new(NULL, NULL, &t, &e_), UFM_STATUS_NULL_POINTER);
    EXPECT_ERR(ufm_trainer_new("{\"schema_version\": 2}", NULL, &t, &e_), UFM_STATUS_INVALID_JOB);
    EXPECT_ERR(ufm_trainer_new(JOB, NULL, NULL, &e_), UFM_STATUS_NULL_POINTER);
    EXPECT_ERR(ufm_job_validate(PLUGIN_JOB, &e_), UFM_STATUS_PLUGIN);
    EXPECT_ERR(ufm_trainer_new(PLUGIN_JOB, NULL, &t, &e_), UFM_STATUS_PLUGIN);
    EXPECT(ufm_trainer_new(JOB, NULL, &dead, NULL), UFM_STATUS_OK);
    ufm_trainer_free(dead);
    EXPECT(ufm_trainer_steps(dead, &steps, NULL), UFM_STATUS_INVALID_HANDLE);
    ufm_trainer_free(dead); /* double free is detected and ignored */

    EXPECT(ufm_trainer_new(JOB, ".", &t, NULL), UFM_STATUS_OK);
    EXPECT(ufm_trainer_param_shape(t, 0, &rows, &cols, NULL), UFM_STATUS_OK);
    if (rows != 4 || cols != 6) failures++;
    EXPECT(ufm_trainer_get_param(t, 0, dst, NULL), UFM_STATUS_OK);
    EXPECT(ufm_trainer_set_param(t, 0, src, NULL), UFM_STATUS_OK);
    EXPECT(ufm_trainer_get_param(t, 3, dst, NULL), UFM_STATUS_INVALID_ARGUMENT);
    dst.nrows = 5;
    EXPECT_ERR(ufm_trainer_get_param(t, 0, dst, &e_), UFM_STATUS_SIZE_MISMATCH);
    dst.nrows = 4;
    dst.row_stride = -6;
    EXPECT(ufm_trainer_get_param(t, 0, dst, NULL), UFM_STATUS_INVALID_ARGUMENT);
    dst.row_stride = 6;
    dst.data = NULL;
    EXPECT(ufm_trainer_get_param(t, 0, dst, NULL), UFM_STATUS_NULL_POINTER);
    dst.data = buf;
    EXPECT(ufm_trainer_loss(t, NULL, NULL), UFM_STATUS_NULL_POINTER);
    EXPECT(ufm_trainer_run(t, NULL, NULL, NULL, NULL, NULL), UFM_STATUS_OK);
    EXPECT(ufm_trainer_result(t, &r, NULL), UFM_STATUS_OK);
    EXPECT(ufm_result_array_shape(r, 42, &rows, &cols, NULL), UFM_STATUS_INVALID_ARGUMENT);
    EXPECT(ufm_result_array_shape(r, UFM_ARRAY_CURVE, &rows, &cols, NULL), UFM_STATUS_OK);
    if (rows != 11 || cols != 5) failures++;
    {
        ufm_matrix_mut small = {buf, 2, 5, 5, 1};
        EXPECT(ufm_result_array(r, UFM_ARRAY_CURVE, small, NULL), UFM_STATUS_SIZE_MISMATCH);
    }
    EXPECT(ufm_singular_values(src, NULL, 0, &len, NULL), UFM_STATUS_BUFFER_TOO_SMALL);
    if (len != 4) failures++;
    EXPECT(ufm_singular_values(src, buf + 32, len, &len, NULL), UFM_STATUS_OK);
    EXPECT(ufm_result_json((ufm_result *)t, NULL, NULL, NULL), UFM_STATUS_INVALID_HANDLE);
    {
        /* Versioned out-structs: struct_size unset (0) or short is refused, nothing written. */
        ufm_summary unset = {.loss = -1.0};
        ufm_summary set = {.struct_size = sizeof(ufm_summary)};
        ufm_compare short_cmp = {.struct_size = sizeof(ufm_compare) - 8};
        EXPECT(ufm_result_summary(r, &unset, NULL), UFM_STATUS_STRUCT_SIZE);
        if (unset.loss != -1.0 || unset.struct_size != 0) failures++;
        EXPECT(ufm_result_summary(r, &set, NULL), UFM_STATUS_OK);
        if (set.struct_size != sizeof(ufm_summary) || !(set.loss > 0)) failures++;
        EXPECT(ufm_theory_compare(10, 5, 2, 0.001, &short_cmp, NULL), UFM_STATUS_STRUCT_SIZE);
        EXPECT(ufm_result_write(r, NULL, NULL), UFM_STATUS_NULL_POINTER);
    }
    ufm_result_free(r);
    EXPECT(ufm_result_summary(r, NULL, NULL), UFM_STATUS_INVALID_HANDLE);
    ufm_trainer_free(t);
    ufm_trainer_free(NULL);
    ufm_result_free(NULL);
    ufm_error_free(NULL);
    if (failures) {
        fprintf(stderr, "%d refusal checks failed\n", failures);
        return 1;
    }
    printf("refusals ok\n");
    return 0;
}
