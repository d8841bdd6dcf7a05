/* The email channel's run-time wiring (see mail.h). */
#include "server/mail/mail.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "server/mail/ingest.h"
#include "server/mail/loop.h"
#include "server/mail/mailbox.h"
#include "server/mail/outbox.h"
#include "server/mail/poll.h"
#include "server/mail/undeliverable.h"
#include "server/tickets/annotate.h"
#include "server/tickets/outbox_hook.h"

struct hd_mail {
    unsigned char key[HD_MAILBOX_KEY_BYTES];
    char domain[256];
    hd_thread_conf tc;
    hd_ingest_conf ic;
    hd_outbox_opts oo;
    hd_outbox *outbox;
    hd_poll *poll;
};

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    return end && !*end && n > 0 ? n : def;
}

int hd_mail_start(hd_mail **out, const hd_mail_opts *o, hd_err *err)
{
    char path[PATH_MAX];
    int rc;
    hd_mail *m = calloc(1, sizeof *m);
    if (!m)
        return hd_err_set(err, HD_ENOMEM, "mail: out of memory");
    if (snprintf(path, sizeof path, "%s/mail.key", o->data_dir) >= (int)sizeof path) {
        rc = hd_err_set(err, HD_EINVAL, "mail: data dir path too long");
        goto fail;
    }
    rc = hd_mailbox_key_load(m->key, path, err);
    if (rc < 0)
        goto fail;
    const char *dom = getenv(HD_MAIL_DOMAIN_ENV);
    snprintf(m->domain, sizeof m->domain, "%s", dom && *dom ? dom : HD_MAIL_DOMAIN_DEFAULT);
    /* A separate MAC key derived from the mail key: sealing and MACs never share a key. */
    crypto_generichash(m->tc.key, sizeof m->tc.key, (const unsigned char *)"hd-thread-mac", 13,
                       m->key, sizeof m->key);
    m->tc.msgid_domain = m->domain;
    m->ic.thread = &m->tc;
    m->ic.tickets.body_max = o->body_max;
    m->ic.limiter = hd_loop_limiter_new(HD_MAIL_ACK_PER_HOUR, 3600000);
    if (!m->ic.limiter) {
        rc = hd_err_set(err, HD_ENOMEM, "mail: out of memory");
        goto fail;
    }
    m->oo = (hd_outbox_opts){.store = o->store,
                             .mail_key = m->key,
                             .thread = &m->tc,
                             .backoff_base_ms = env_long(HD_MAIL_BACKOFF_ENV, 0),
                             .max_attempts = (unsigned)env_long(HD_MAIL_ATTEMPTS_ENV, 0),
                             .smtp_ca_file = getenv(HD_MAIL_CA_FILE_ENV)};
    hd_tickets_outbox_set(hd_outbox_reply_hook, &m->tc);
    hd_tickets_attach_check_set(hd_outbox_check_attachments, NULL);
    hd_tickets_annotate_set(hd_undeliverable_annotate, NULL);
    rc = hd_outbox_start(&m->outbox, &m->oo, err);
    if (rc < 0)
        goto fail;
    hd_poll_opts po = {.store = o->store,
                       .mail_key = m->key,
                       .ingest = &m->ic,
                       .outbox = m->outbox,
                       .bus = o->bus};
    rc = hd_poll_start(&m->poll, &po, err);
    if (rc < 0)
        goto fail;
    *out = m;
    return HD_OK;
fail:
    hd_mail_stop(m);
    return rc;
}

void hd_mail_stop(hd_mail *m)
{
    if (!m)
        return;
    hd_poll_stop(m->poll);
    hd_outbox_stop(m->outbox);
    hd_tickets_outbox_set(NULL, NULL);
    hd_tickets_attach_check_set(NULL, NULL);
    hd_tickets_annotate_set(NULL, NULL);
    hd_loop_limiter_free(m->ic.limiter);
    sodium_memzero(m->key, sizeof m->key);
    free(m);
}

const unsigned char *hd_mail_key(const hd_mail *m)
{
    return m->key;
}

void hd_mail_kick(hd_mail *m)
{
    if (!m)
        return;
    hd_poll_kick(m->poll);
    hd_outbox_kick(m->outbox);
}
