/* Regression driver for libFuzzer targets built as plain tests: replays a checked-in
 * corpus directory, then a bounded number of deterministic mutations of each input (byte
 * set, bit flip, truncate, splice), so `bazel test` exercises every target. */
#ifndef HD_TESTS_FUZZ_CORPUS_H
#define HD_TESTS_FUZZ_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Aborts (a finding for libFuzzer, a failure for the regression test) when cond is false,
 * naming the broken property. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #cond);                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The target under test (defined by each fuzz target). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest input the drivers pass (longer seeds are cut). */
#define HD_FUZZ_INPUT_MAX 65536

/* Runs data (n bytes, borrowed) and `mutations` mutations of it; *state is the xorshift
 * state (any non-zero start; advanced). Returns the number of inputs run. */
size_t hd_fuzz_run_mutations(const uint8_t *data, size_t n, int mutations, uint64_t *state);

/* Runs every regular file in dir and its mutations. Returns the number of inputs run; 0
 * when dir cannot be read (the caller should fail: a missing corpus is a broken test). */
size_t hd_fuzz_corpus_replay(const char *dir, int mutations);

#endif
