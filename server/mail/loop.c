/* Auto-reply, bulk, bounce and loop classification (see loop.h), following RFC 3834 and
 * what Zammad, osTicket and RT check. */
#include "server/mail/loop.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool has_prefix_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

static bool local_part_is(const char *addr, const char *local)
{
    size_t n = strlen(local);
    return strncasecmp(addr, local, n) == 0 && (addr[n] == '@' || addr[n] == '+');
}

static bool ends_with_domain(const char *id, const char *domain)
{
    const char *at = strrchr(id, '@');
    return at && strcasecmp(at + 1, domain) == 0;
}

hd_loop_verdict hd_loop_classify(const hd_mime_msg *m, const char *own_msgid_domain)
{
    hd_loop_verdict v = {HD_LOOP_HUMAN, true, ""};
    if (*m->hd_loop) {
        v = (hd_loop_verdict){HD_LOOP_OWN, false, "own loop header"};
        return v;
    }
    if (own_msgid_domain && *own_msgid_domain && !m->synthetic_id &&
        ends_with_domain(m->message_id, own_msgid_domain)) {
        v = (hd_loop_verdict){HD_LOOP_OWN, false, "own Message-ID"};
        return v;
    }
    if (m->is_dsn) {
        v = (hd_loop_verdict){HD_LOOP_BOUNCE, false, "delivery status report"};
        return v;
    }
    if (local_part_is(m->from.addr, "mailer-daemon") || local_part_is(m->from.addr, "postmaster")) {
        v = (hd_loop_verdict){HD_LOOP_BOUNCE, false, "from mailer-daemon/postmaster"};
        return v;
    }
    if (m->has_return_path && !*m->return_path) {
        v = (hd_loop_verdict){HD_LOOP_BOUNCE, false, "empty Return-Path"};
        return v;
    }
    if (*m->auto_submitted && strcasecmp(m->auto_submitted, "no") != 0) {
        v = (hd_loop_verdict){HD_LOOP_AUTO_REPLY, false, "Auto-Submitted"};
        return v;
    }
    if (*m->x_auto_response_suppress) {
        v = (hd_loop_verdict){HD_LOOP_AUTO_REPLY, false, "X-Auto-Response-Suppress"};
        return v;
    }
    if (*m->x_loop) {
        v = (hd_loop_verdict){HD_LOOP_AUTO_REPLY, false, "X-Loop"};
        return v;
    }
    if (has_prefix_ci(m->precedence, "bulk") || has_prefix_ci(m->precedence, "junk") ||
        has_prefix_ci(m->precedence, "list")) {
        v = (hd_loop_verdict){HD_LOOP_BULK, false, "Precedence"};
        return v;
    }
    if (*m->list_id) {
        v = (hd_loop_verdict){HD_LOOP_BULK, false, "List-Id"};
        return v;
    }
    /* Out-of-office without the headers (older clients): subject conventions. */
    if (has_prefix_ci(m->subject, "Auto:") || has_prefix_ci(m->subject, "Automatic reply:") ||
        has_prefix_ci(m->subject, "Out of Office") || has_prefix_ci(m->subject, "Autoreply:")) {
        v = (hd_loop_verdict){HD_LOOP_AUTO_REPLY, false, "auto-reply subject"};
        return v;
    }
    return v;
}

const char *hd_loop_kind_name(hd_loop_kind k)
{
    switch (k) {
    case HD_LOOP_HUMAN:
        return "human";
    case HD_LOOP_AUTO_REPLY:
        return "auto_reply";
    case HD_LOOP_BULK:
        return "bulk";
    case HD_LOOP_BOUNCE:
        return "bounce";
    case HD_LOOP_OWN:
        return "own";
    }
    return "?";
}

#define LIMITER_SLOTS 4096

typedef struct slot {
    uint64_t hash;
    int64_t window_start;
    unsigned count;
} slot;

struct hd_loop_limiter {
    pthread_mutex_t mu;
    unsigned max;
    int64_t window_ms;
    slot slots[LIMITER_SLOTS];
};

hd_loop_limiter *hd_loop_limiter_new(unsigned max, int64_t window_ms)
{
    hd_loop_limiter *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->max = max;
    l->window_ms = window_ms;
    return l;
}

void hd_loop_limiter_free(hd_loop_limiter *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h | 1; /* 0 marks an empty slot */
}

bool hd_loop_limiter_allow(hd_loop_limiter *l, const char *sender, int64_t now_ms)
{
    uint64_t h = fnv1a(sender ? sender : "");
    bool ok;
    pthread_mutex_lock(&l->mu);
    slot *s = &l->slots[h % LIMITER_SLOTS];
    if (s->hash != h || now_ms - s->window_start >= l->window_ms || now_ms < s->window_start) {
        s->hash = h;
        s->window_start = now_ms;
        s->count = 0;
    }
    ok = s->count < l->max;
    if (ok)
        s->count++;
    pthread_mutex_unlock(&l->mu);
    return ok;
}
