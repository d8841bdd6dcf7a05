/* Undeliverable addresses (see undeliverable.h). */
#include "server/mail/undeliverable.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server/mail/keys.h"
#include "server/tickets/change.h"
#include "server/tickets/lifecycle.h"
#include "server/validate/validate.h"

#define REASON_MAX 200
#define EVK(x)     HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_##x

/* Lower-case copy of an address (keys and comparisons are case-insensitive). */
static char *lower(hd_arena *a, const char *s)
{
    char *r = hd_arena_strdup(a, s ? s : "");
    for (char *p = r; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return r;
}

/* Printable ASCII copy of s, at most max bytes (reports carry arbitrary bytes). */
static char *printable(hd_arena *a, const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n > max)
        n = max;
    char *r = hd_arena_strndup(a, s ? s : "", n);
    for (char *p = r; p && *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    return r;
}

/* An UPDATED event with the fact "undeliverable" on ticket tid, if it takes one. */
static int ticket_fact(hd_txn *txn, hd_arena *a, uint64_t tid, const hd_tickets_actor *actor,
                       const char *before, const char *after, int64_t now_ms,
                       hd_tickets_committed *committed, hd_err *err)
{
    hd_tickets_edit e;
    hd_err ignore;
    if (!tid)
        return HD_OK;
    int rc = hd_tickets_edit_begin(&e, txn, a, tid, actor, now_ms, committed, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return HD_OK;
    }
    if (rc < 0)
        return rc;
    /* A closed or merged ticket takes no event; the mark still shows when it is read. */
    if (hd_tickets_lifecycle_writable(e.before->status, EVK(UPDATED), &ignore) < 0)
        return HD_OK;
    rc = hd_tickets_edit_fact(&e, "undeliverable", before, after, err);
    if (rc < 0)
        return rc;
    return hd_tickets_edit_commit(&e, EVK(UPDATED), err);
}

int hd_undeliverable_mark(hd_txn *txn, hd_arena *a, const Helpdesk__V1__UndeliverableAddress *u,
                          int64_t now_ms, hd_tickets_committed *committed, hd_err *err)
{
    hd_key k;
    if (!u->address || !hd_validate_email(u->address, strlen(u->address)))
        return hd_err_set(err, HD_EINVAL, "address: not a valid address");
    Helpdesk__V1__UndeliverableAddress rec = HELPDESK__V1__UNDELIVERABLE_ADDRESS__INIT;
    rec.address = lower(a, u->address);
    rec.status = printable(a, u->status, 16);
    rec.reason = printable(a, u->reason, REASON_MAX);
    rec.time = u->time ? u->time : hd_tickets_ts_new(a, now_ms);
    rec.ticket_id = u->ticket_id;
    if (!rec.address || !rec.status || !rec.reason || !rec.time)
        return hd_err_set(err, HD_ENOMEM, "undeliverable: out of memory");
    int rc = hd_store_put_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_undeliverable(&k, rec.address),
                              &rec.base, 0, err);
    if (rc < 0)
        return rc;
    const char *fact = hd_arena_printf(a, "%s (%s)", rec.address, rec.status);
    if (!fact)
        return hd_err_set(err, HD_ENOMEM, "undeliverable: out of memory");
    return ticket_fact(txn, a, rec.ticket_id, NULL, "", fact, now_ms, committed, err);
}

/* Unpacks a stored mark; records of earlier versions held "status message-id" text. */
static Helpdesk__V1__UndeliverableAddress *unpack(hd_arena *a, const char *addr, const void *v,
                                                  size_t n)
{
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(a, &pa);
    Helpdesk__V1__UndeliverableAddress *u = helpdesk__v1__undeliverable_address__unpack(&pa, n, v);
    if (u && u->address && *u->address)
        return u;
    u = hd_arena_calloc(a, 1, sizeof *u);
    if (!u)
        return NULL;
    helpdesk__v1__undeliverable_address__init(u);
    u->address = hd_arena_strdup(a, addr);
    char *text = hd_arena_strndup(a, v, n);
    char *sp = text ? strchr(text, ' ') : NULL;
    if (sp)
        *sp = '\0';
    u->status = printable(a, text, 16);
    u->reason = (char *)"";
    return u->address && u->status ? u : NULL;
}

int hd_undeliverable_get(hd_txn *txn, hd_arena *a, const char *addr,
                         Helpdesk__V1__UndeliverableAddress **out, hd_err *err)
{
    hd_key k;
    const void *v;
    size_t n;
    char *la = lower(a, addr);
    if (!la)
        return hd_err_set(err, HD_ENOMEM, "undeliverable: out of memory");
    int rc = hd_store_get(txn, HD_STORE_MAILSTATE, hd_mailkey_undeliverable(&k, la), &v, &n, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (out) {
        *out = unpack(a, la, v, n);
        if (!*out)
            return hd_err_set(err, HD_ENOMEM, "undeliverable: out of memory");
    }
    return 1;
}

int hd_undeliverable_clear(hd_txn *txn, hd_arena *a, const char *addr, const char *why,
                           const hd_tickets_actor *actor, int64_t now_ms,
                           hd_tickets_committed *committed,
                           Helpdesk__V1__UndeliverableAddress **out, hd_err *err)
{
    hd_key k;
    Helpdesk__V1__UndeliverableAddress *u = NULL;
    int rc = hd_undeliverable_get(txn, a, addr, &u, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return hd_err_set(err, HD_ENOTFOUND, "address %s: not marked undeliverable", addr);
    rc = hd_store_del(txn, HD_STORE_MAILSTATE, hd_mailkey_undeliverable(&k, u->address), err);
    if (rc < 0)
        return rc;
    if (out)
        *out = u;
    const char *before = hd_arena_printf(a, "%s (%s)", u->address, u->status);
    const char *after = hd_arena_printf(a, "cleared: %s", why ? why : "");
    if (!before || !after)
        return hd_err_set(err, HD_ENOMEM, "undeliverable: out of memory");
    return ticket_fact(txn, a, u->ticket_id, actor, before, after, now_ms, committed, err);
}

typedef struct clear_args {
    hd_arena *a;
    const char *addr;
    const hd_tickets_actor *actor;
    int64_t now_ms;
    hd_tickets_committed *committed;
    Helpdesk__V1__UndeliverableAddress *out;
} clear_args;

static int clear_apply(hd_txn *txn, void *arg, hd_err *err)
{
    clear_args *c = arg;
    hd_tickets_committed_reset(c->committed);
    return hd_undeliverable_clear(txn, c->a, c->addr, "cleared by an admin", c->actor, c->now_ms,
                                  c->committed, &c->out, err);
}

int hd_undeliverable_clear_write(hd_store *s, hd_arena *a, const char *addr,
                                 const hd_tickets_actor *actor, int64_t now_ms,
                                 hd_tickets_committed *committed,
                                 Helpdesk__V1__UndeliverableAddress **out, hd_err *err)
{
    if (!addr || !hd_validate_email(addr, strlen(addr)))
        return hd_err_set(err, HD_EINVAL, "address: not a valid address");
    clear_args c = {a, addr, actor, now_ms, committed, NULL};
    int rc = hd_store_write(s, clear_apply, &c, err);
    if (rc < 0)
        return rc;
    if (out)
        *out = c.out;
    return HD_OK;
}

typedef struct list_acc {
    hd_arena *a;
    Helpdesk__V1__UndeliverableAddress **v;
    size_t n, cap;
    bool more;
} list_acc;

static int list_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    list_acc *l = arg;
    hd_key_reader r;
    uint8_t kind;
    char *addr = NULL;
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_u8(&r, &kind, NULL) < 0 || hd_key_read_str(&r, l->a, &addr, NULL, NULL) < 0)
        return HD_ECORRUPT;
    if (l->n == l->cap) {
        l->more = true;
        return 1;
    }
    l->v[l->n] = unpack(l->a, addr, val, vlen);
    if (!l->v[l->n])
        return HD_ENOMEM;
    l->n++;
    return 0;
}

int hd_undeliverable_list(hd_store *s, hd_arena *a, int32_t page_size, const char *page_token,
                          Helpdesk__V1__UndeliverableAddress ***out, size_t *n, const char **next,
                          hd_err *err)
{
    hd_txn *txn = NULL;
    if (page_size < 0 || page_size > HD_UNDELIVERABLE_PAGE_MAX)
        return hd_err_set(err, HD_EINVAL, "page_size: 0-%d", HD_UNDELIVERABLE_PAGE_MAX);
    size_t cap = page_size ? (size_t)page_size : HD_UNDELIVERABLE_PAGE_DEFAULT;
    list_acc l = {a, hd_arena_calloc(a, cap, sizeof(void *)), 0, cap, false};
    if (!l.v)
        return hd_err_set(err, HD_ENOMEM, "undeliverable: out of memory");
    hd_key prefix, start;
    hd_key_init(&prefix);
    hd_key_u8(&prefix, HD_MAILKEY_UNDELIVERABLE);
    bool resume = page_token && *page_token;
    hd_store_range r = {.prefix = &prefix,
                        .start = resume ? hd_mailkey_undeliverable(&start, page_token) : NULL,
                        .exclusive = resume};
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc < 0)
        return rc;
    int64_t sc = hd_store_scan(txn, HD_STORE_MAILSTATE, &r, list_cb, &l, err);
    hd_store_read_end(txn);
    if (sc == HD_ECORRUPT)
        return hd_err_set(err, HD_ECORRUPT, "undeliverable: unreadable key");
    if (sc == HD_ENOMEM)
        return hd_err_set(err, HD_ENOMEM, "undeliverable: out of memory");
    if (sc < 0)
        return (int)sc;
    *out = l.v;
    *n = l.n;
    *next = l.more && l.n ? l.v[l.n - 1]->address : "";
    return HD_OK;
}

typedef struct annot_acc {
    hd_txn *txn;
    hd_arena *a;
    Helpdesk__V1__Ticket *t;
    size_t cap;
    hd_err *err;
} annot_acc;

/* Adds addr's mark to the ticket unless it is there already. */
static int annot_add(annot_acc *x, const char *addr)
{
    Helpdesk__V1__UndeliverableAddress *u = NULL;
    int rc = hd_undeliverable_get(x->txn, x->a, addr, &u, x->err);
    if (rc <= 0)
        return rc;
    Helpdesk__V1__Ticket *t = x->t;
    for (size_t i = 0; i < t->n_undeliverable; i++)
        if (strcmp(t->undeliverable[i]->address, u->address) == 0)
            return 0;
    Helpdesk__V1__UndeliverableAddress **v =
        hd_arena_grow(x->a, t->undeliverable, t->n_undeliverable, &x->cap, sizeof *v, 4);
    if (!v)
        return hd_err_set(x->err, HD_ENOMEM, "undeliverable: out of memory");
    t->undeliverable = v;
    t->undeliverable[t->n_undeliverable++] = u;
    return 0;
}

static int participant_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    annot_acc *x = arg;
    uint64_t tid;
    char *addr = NULL;
    if (hd_mailkey_participant_read(key, klen, x->a, &tid, &addr) < 0)
        return hd_err_set(x->err, HD_ECORRUPT, "mail participant of ticket: unreadable key");
    return annot_add(x, addr);
}

/* Most participants looked at per read (a ticket with a huge Cc list stays cheap to read). */
#define ANNOTATE_PARTICIPANTS_MAX 64

int hd_undeliverable_annotate(void *ud, hd_txn *txn, hd_arena *a, Helpdesk__V1__Ticket *t,
                              hd_err *err)
{
    (void)ud;
    hd_key k;
    ProtobufCMessage *pm = NULL;
    annot_acc x = {txn, a, t, 0, err};
    t->undeliverable = NULL;
    t->n_undeliverable = 0;
    int rc = hd_store_get_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, t->customer_id),
                              &helpdesk__v1__customer__descriptor, a, &pm, err);
    if (rc == 0 && *((Helpdesk__V1__Customer *)pm)->email)
        rc = annot_add(&x, ((Helpdesk__V1__Customer *)pm)->email);
    else if (rc == HD_ENOTFOUND)
        rc = 0;
    if (rc < 0)
        return rc;
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_u64(hd_key_u8(&prefix, HD_MAILKEY_PARTICIPANT), t->id);
    hd_store_range r = {.prefix = &prefix, .limit = ANNOTATE_PARTICIPANTS_MAX};
    int64_t sc = hd_store_scan(txn, HD_STORE_MAILSTATE, &r, participant_cb, &x, err);
    return sc < 0 ? (int)sc : 0;
}
