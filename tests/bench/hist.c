/* Bucket index: v < 256 -> v. Otherwise with m = index of v's top bit (m >= 8) and
 * shift = m - 7, the top 8 bits of v (128..255) pick one of 128 buckets in the band of
 * shift: index = 256 + (shift - 1) * 128 + (top - 128). */
#include "tests/bench/hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define HIST_SUB_BITS 8
#define HIST_SUB      (1u << HIST_SUB_BITS) /* 256 exact values */
#define HIST_HALF     (HIST_SUB / 2)        /* 128 buckets per power of two */
#define HIST_MAX_BIT  42
#define HIST_MAX      ((1ull << HIST_MAX_BIT) - 1)
#define HIST_BANDS    (HIST_MAX_BIT - HIST_SUB_BITS + 1)
#define HIST_BUCKETS  (HIST_SUB + HIST_BANDS * HIST_HALF)

struct hd_hist {
    uint64_t count;
    uint64_t min, max;
    long double sum;
    uint64_t buckets[HIST_BUCKETS];
};

static unsigned bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    unsigned m = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = m - (HIST_SUB_BITS - 1);
    unsigned top = (unsigned)(v >> shift);
    return HIST_SUB + (shift - 1) * HIST_HALF + (top - HIST_HALF);
}

/* The middle value of bucket i. */
static uint64_t bucket_mid(unsigned i)
{
    if (i < HIST_SUB)
        return i;
    unsigned shift = (i - HIST_SUB) / HIST_HALF + 1;
    uint64_t top = (i - HIST_SUB) % HIST_HALF + HIST_HALF;
    uint64_t lo = top << shift;
    return lo + ((1ull << shift) - 1) / 2;
}

hd_hist *hd_hist_create(void)
{
    return calloc(1, sizeof(hd_hist));
}

void hd_hist_destroy(hd_hist *h)
{
    free(h);
}

void hd_hist_reset(hd_hist *h)
{
    memset(h, 0, sizeof(*h));
}

void hd_hist_record(hd_hist *h, uint64_t v)
{
    if (v > HIST_MAX)
        v = HIST_MAX;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
    h->buckets[bucket_of(v)]++;
}

void hd_hist_merge(hd_hist *dst, const hd_hist *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

uint64_t hd_hist_count(const hd_hist *h)
{
    return h->count;
}

uint64_t hd_hist_min(const hd_hist *h)
{
    return h->min;
}

uint64_t hd_hist_max(const hd_hist *h)
{
    return h->max;
}

double hd_hist_mean(const hd_hist *h)
{
    return h->count ? (double)(h->sum / h->count) : 0.0;
}

uint64_t hd_hist_percentile(const hd_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p <= 0)
        return h->min;
    if (p >= 100)
        return h->max;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = bucket_mid(i);
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}
