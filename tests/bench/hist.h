/* A latency histogram with log-linear buckets (HdrHistogram's idea): values below 256 are
 * exact; above, each power of two is split into 128 buckets, so a reported percentile is
 * within 0.4% of the true sample. Fixed size (about 37 KiB), no allocation per record. */
#ifndef HD_TESTS_BENCH_HIST_H
#define HD_TESTS_BENCH_HIST_H

#include <stdint.h>

typedef struct hd_hist hd_hist;

/* Returns an owned, empty histogram (free with hd_hist_destroy), or NULL out of memory. */
hd_hist *hd_hist_create(void);

/* Frees h. NULL is allowed. */
void hd_hist_destroy(hd_hist *h);

/* Empties h. */
void hd_hist_reset(hd_hist *h);

/* Records one value (e.g. nanoseconds). Values above 2^42 are clamped to it. */
void hd_hist_record(hd_hist *h, uint64_t v);

/* Adds every sample of src into dst. */
void hd_hist_merge(hd_hist *dst, const hd_hist *src);

/* Number of samples recorded. */
uint64_t hd_hist_count(const hd_hist *h);

/* Smallest and largest sample, exact (0 when empty). */
uint64_t hd_hist_min(const hd_hist *h);
uint64_t hd_hist_max(const hd_hist *h);

/* Mean of the samples, exact (0 when empty). */
double hd_hist_mean(const hd_hist *h);

/* The p-th percentile (0 < p <= 100): the sample of rank ceil(p/100 * count) in sorted
 * order, as the middle of its bucket (exact below 256; clamped to [min, max]). 0 when
 * empty. */
uint64_t hd_hist_percentile(const hd_hist *h, double p);

#endif
