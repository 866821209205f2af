/* Train the job in a JSON file through libufm and print its result.
 *
 *   cc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude bindings/c/train.c \
 *      -Ltarget/release -lufm -Wl,-rpath,$PWD/target/release -o train
 *   ./train examples/jobs/figure1.json [OUT_DIR]
 *
 * Prints `final.loss <value>` with 17 significant digits (enough to read back the same double),
 * the run status, and checks the class-mean logits copied into a row-major and a column-major
 * buffer against each other. With OUT_DIR, also writes the run folder `ufm run JOB --out OUT_DIR`
 * writes (result.json, curve.csv, params/). Exit status 0 on success, 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ufm.h"

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long size;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        text = malloc((size_t)size + 1);
        if (text && fread(text, 1, (size_t)size, f) == (size_t)size) {
            text[size] = '\0';
        } else {
            free(text);
            text = NULL;
        }
    }
    fclose(f);
    return text;
}

static int fail(const char *what, ufm_status status, ufm_error *err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, ufm_status_name(status), ufm_error_message(err));
    ufm_error_free(err);
    return 1;
}

struct progress_state {
    unsigned long calls;
    double last_loss;
};

static void on_progress(void *user_data, uint64_t step, uint64_t max_steps, double loss) {
    struct progress_state *p = user_data;
    (void)step;
    (void)max_steps;
    p->calls++;
    p->last_loss = loss;
}

static int never_cancel(void *user_data) {
    (void)user_data;
    return 0;
}

int main(int argc, char **argv) {
    ufm_error *err = NULL;
    ufm_trainer *trainer = NULL;
    ufm_result *result = NULL;
    /* A versioned out-struct: the library checks struct_size before writing. */
    ufm_summary summary = {.struct_size = sizeof(ufm_summary)};
    ufm_run_status run_status;
    struct progress_state progress = {0, 0.0};
    char dir[4096] = ".";
    const char *slash;
    char *job;
    size_t k, kk, i, j;
    double *row_major, *col_major;
    ufm_status s;
    int rc = 0;

    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s JOB.json [OUT_DIR]\n", argv[0]);
        return 2;
    }
    if (ufm_abi_version() != UFM_ABI_VERSION) {
        fprintf(stderr, "libufm ABI %u, header ABI %d\n", ufm_abi_version(), UFM_ABI_VERSION);
        return 1;
    }
    if (strcmp(ufm_version(), UFM_VERSION_STRING) != 0) {
        fprintf(stderr, "libufm %s, header %s\n", ufm_version(), UFM_VERSION_STRING);
        return 1;
    }
    job = read_file(argv[1]);
    if (!job) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    slash = strrchr(argv[1], '/');
    if (slash && (size_t)(slash - argv[1]) < sizeof dir) {
        memcpy(dir, argv[1], (size_t)(slash - argv[1]));
        dir[slash - argv[1]] = '\0';
    }

    s = ufm_trainer_new(job, dir, &trainer, &err);
    free(job);
    if (s != UFM_STATUS_OK) return fail("ufm_trainer_new", s, err);

    s = ufm_trainer_run(trainer, on_progress, never_cancel, &progress, &run_status, &err);
    if (s != UFM_STATUS_OK) {
        ufm_trainer_free(trainer);
        return fail("ufm_trainer_run", s, err);
    }
    s = ufm_trainer_result(trainer, &result, &err);
    ufm_trainer_free(trainer);
    if (s != UFM_STATUS_OK) return fail("ufm_trainer_result", s, err);

    s = ufm_result_summary(result, &summary, &err);
    if (s != UFM_STATUS_OK) {
        ufm_result_free(result);
        return fail("ufm_result_summary", s, err);
    }
    printf("status %d\n", (int)summary.status);
    printf("steps %llu\n", (unsigned long long)summary.steps);
    printf("progress_calls %lu\n", progress.calls);
    printf("final.loss %.17g\n", summary.loss);
    printf("logit_rank %zu\n", summary.logit_rank);

    if (argc == 3) {
        s = ufm_result_write(result, argv[2], &err);
        if (s != UFM_STATUS_OK) {
            ufm_result_free(result);
            return fail("ufm_result_write", s, err);
        }
        printf("written %s\n", argv[2]);
    }

    /* The class-mean logits, once row-major and once column-major: the same matrix. */
    s = ufm_result_array_shape(result, UFM_ARRAY_CLASS_MEAN_LOGITS, &k, &kk, &err);
    if (s != UFM_STATUS_OK) {
        ufm_result_free(result);
        return fail("ufm_result_array_shape", s, err);
    }
    row_major = malloc(k * kk * sizeof *row_major);
    col_major = malloc(k * kk * sizeof *col_major);
    if (!row_major || !col_major) {
        rc = 1;
    } else {
        ufm_matrix_mut rm = {row_major, k, kk, (ptrdiff_t)kk, 1};
        ufm_matrix_mut cm = {col_major, k, kk, 1, (ptrdiff_t)k};
        s = ufm_result_array(result, UFM_ARRAY_CLASS_MEAN_LOGITS, rm, &err);
        if (s == UFM_STATUS_OK) s = ufm_result_array(result, UFM_ARRAY_CLASS_MEAN_LOGITS, cm, &err);
        if (s != UFM_STATUS_OK) {
            rc = fail("ufm_result_array", s, err);
        } else {
            for (i = 0; i < k; i++)
                for (j = 0; j < kk; j++)
                    if (row_major[i * kk + j] != col_major[i + j * k]) rc = 1;
            if (rc) fprintf(stderr, "row-major and column-major copies differ\n");
            printf("class_mean_logits[0][0] %.17g\n", row_major[0]);
        }
    }
    free(row_major);
    free(col_major);
    ufm_result_free(result);
    ufm_result_free(NULL);
    return rc;
}
