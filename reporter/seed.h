/* A seeded, deterministic ticket generator with a settable end time: the same seed, count
 * and span always give the same tickets (ticket i depends only on seed and i), so tests
 * have known answers and benchmarks are repeatable. It stands in for the server as a
 * report source and can dump its tickets as CSV for an independent check of every
 * figure. */
#ifndef HD_REPORTER_SEED_H
#define HD_REPORTER_SEED_H

#include <stdint.h>
#include <stdio.h>

#include "reporter/model.h"
#include "reporter/source.h"

typedef struct hd_seed {
    uint64_t seed;
    uint64_t count; /* tickets */
    int span_days;  /* tickets are created over [end - span_days, end) */
    int64_t end_s;  /* "now" of the dataset: nothing happens at or after it */
} hd_seed;

/* Fills *t with ticket i (0-based). Strings point into buf (size >= 512), borrowed until
 * the next call with the same buf. */
void hd_seed_ticket(const hd_seed *g, uint64_t i, hd_model_ticket *t, char *buf);

/* Returns a source over g (borrowed for the source's lifetime). */
hd_source hd_seed_source(hd_seed *g);

/* Writes every ticket as CSV (header row first) to f; returns HD_OK or HD_EIO. */
int hd_seed_dump(const hd_seed *g, FILE *f);

#endif
