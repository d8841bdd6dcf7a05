/* Classifying inbound mail before anything answers it: auto-replies and out-of-office,
 * bulk and list mail, bounces (DSN), and our own mail coming back (a loop). Plus a
 * per-sender rate limit for automatic replies. Pure functions over a parsed message. */
#ifndef HD_MAIL_LOOP_H
#define HD_MAIL_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "server/common/err.h"
#include "server/mail/mime.h"

typedef enum hd_loop_kind {
    HD_LOOP_HUMAN = 0,  /* a person wrote it: may be acknowledged */
    HD_LOOP_AUTO_REPLY, /* Auto-Submitted, X-Auto-Response-Suppress, X-Loop, OOF */
    HD_LOOP_BULK,       /* Precedence bulk/junk/list, List-Id */
    HD_LOOP_BOUNCE,     /* a DSN, or from mailer-daemon/postmaster, or Return-Path <> */
    HD_LOOP_OWN,        /* our own outgoing mail came back */
} hd_loop_kind;

typedef struct hd_loop_verdict {
    hd_loop_kind kind;
    bool may_autoreply; /* only HUMAN mail is ever answered automatically */
    const char *reason; /* static text naming the rule that matched, "" for HUMAN */
} hd_loop_verdict;

/* Classifies m. own_msgid_domain (may be NULL) is the domain of the Message-IDs we
 * generate: an inbound message whose own Message-ID is ours is a loop. */
hd_loop_verdict hd_loop_classify(const hd_mime_msg *m, const char *own_msgid_domain);

/* Returns the static name of k ("human", "auto_reply", "bulk", "bounce", "own"). */
const char *hd_loop_kind_name(hd_loop_kind k);

/* Per-sender limit on automatic replies: at most `max` in any `window_ms`. Thread-safe.
 * A fixed-size table: a sender whose slot was taken by another starts afresh (fails open
 * toward one extra reply, never toward a storm). */
typedef struct hd_loop_limiter hd_loop_limiter;

/* Returns an owned limiter (free with hd_loop_limiter_free) or NULL when out of memory. */
hd_loop_limiter *hd_loop_limiter_new(unsigned max, int64_t window_ms);

/* NULL is allowed. */
void hd_loop_limiter_free(hd_loop_limiter *l);

/* Returns true and counts the reply when sender (lower-case address) may get one more
 * automatic reply at now_ms; false when over the limit. */
bool hd_loop_limiter_allow(hd_loop_limiter *l, const char *sender, int64_t now_ms);

#endif
