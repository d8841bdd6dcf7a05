/* Token buckets per caller in a fixed open-addressing table (see ratelimit.h). One mutex
 * guards the table: a take is a hash, a short probe and a few arithmetic operations, far
 * cheaper than the call it admits. */
#include "server/rpc/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#define PROBE 8 /* slots looked at per caller before reusing the least recently seen */

typedef struct bucket {
    uint64_t id;
    int kind; /* 0 = free slot (principal kinds start at 1) */
    double tokens;
    int64_t last_ms;
} bucket;

struct hd_ratelimit {
    pthread_mutex_t mu;
    double rate_per_ms;
    double burst;
    double rate_per_s;
    bucket slots[HD_RATELIMIT_SLOTS];
};

int hd_ratelimit_create(hd_ratelimit **out, double rate_per_s, double burst, hd_err *err)
{
    hd_ratelimit *rl = NULL;
    *out = NULL;
    if (!(rate_per_s > 0) || !isfinite(rate_per_s) || !(burst >= 1) || !isfinite(burst))
        return hd_err_set(err, HD_EINVAL, "rate limit: want rate > 0 and burst >= 1");
    rl = calloc(1, sizeof(*rl));
    if (!rl)
        return hd_err_set(err, HD_ENOMEM, "rate limit: out of memory");
    if (pthread_mutex_init(&rl->mu, NULL) != 0) {
        hd_err_set(err, HD_ENOMEM, "rate limit: cannot create mutex");
        goto fail;
    }
    rl->rate_per_s = rate_per_s;
    rl->rate_per_ms = rate_per_s / 1000.0;
    rl->burst = burst;
    *out = rl;
    return HD_OK;
fail:
    free(rl);
    return HD_ENOMEM;
}

void hd_ratelimit_destroy(hd_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint64_t mix(int kind, uint64_t id)
{
    uint64_t x = id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)kind * 0xc2b2ae3d27d4eb4fULL;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    return x ^ (x >> 29);
}

/* Returns the caller's bucket, claiming (full) a free slot or the least recently seen one
 * of its probe window when it has none. Called with rl->mu held. */
static bucket *find_locked(hd_ratelimit *rl, int kind, uint64_t id, int64_t now_ms)
{
    size_t h = (size_t)(mix(kind, id) % HD_RATELIMIT_SLOTS);
    bucket *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        bucket *b = &rl->slots[(h + i) % HD_RATELIMIT_SLOTS];
        if (b->kind == kind && b->id == id)
            return b;
        if (b->kind == 0) { /* slots are never freed: the caller is not further on */
            victim = b;
            break;
        }
        if (!victim || b->last_ms < victim->last_ms)
            victim = b;
    }
    victim->kind = kind;
    victim->id = id;
    victim->tokens = rl->burst;
    victim->last_ms = now_ms;
    return victim;
}

int hd_ratelimit_take(hd_ratelimit *rl, int kind, uint64_t id, int64_t now_ms,
                      int64_t *retry_after_ms, hd_err *err)
{
    int64_t wait_ms = 0;
    if (kind == 0)
        kind = -1; /* keep 0 meaning "free slot" */
    pthread_mutex_lock(&rl->mu);
    bucket *b = find_locked(rl, kind, id, now_ms);
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rl->rate_per_ms;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0)
        b->tokens -= 1.0;
    else
        wait_ms = (int64_t)ceil((1.0 - b->tokens) / rl->rate_per_ms);
    pthread_mutex_unlock(&rl->mu);
    if (retry_after_ms)
        *retry_after_ms = wait_ms;
    if (wait_ms == 0)
        return HD_OK;
    return hd_err_set(err, HD_EFULL,
                      "rate limit exceeded: %g calls/s, burst %g per caller; retry after %lld ms",
                      rl->rate_per_s, rl->burst, (long long)wait_ms);
}
