/* The store consistency checker (see check.h). Tickets are scanned once; each index is then
 * checked by presence (from the ticket side) and by count (no entry without a ticket). */
#include "server/check/check.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/rollup/rollup.h"
#include "server/store/key.h"
#include "server/tickets/change.h"
#include "server/tickets/tickets.h"

#define NSTATUS 8 /* TicketStatus values are 0..6; one spare */

typedef struct checker {
    hd_txn *txn;
    FILE *report;
    hd_check_result *res;
    hd_err *err;
    uint64_t by_status[NSTATUS];
    uint64_t tags;           /* index entries the tickets' tags need */
    uint64_t message_counts; /* sum of tickets' message_count */
    uint64_t cur_ticket;     /* message scan: ticket whose messages are being counted */
    uint64_t cur_messages;
} checker;

__attribute__((format(printf, 2, 3))) static void problem(checker *c, const char *fmt, ...)
{
    c->res->problems++;
    if (!c->report || c->res->problems > HD_CHECK_REPORT_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("problem: ", c->report);
    vfprintf(c->report, fmt, ap);
    fputc('\n', c->report);
    va_end(ap);
}

static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Checks that index t has entry k (and, when want_id, that its value is that id). */
static int expect_entry(checker *c, hd_table t, const char *what, const hd_key *k, uint64_t id,
                        int want_id)
{
    const void *v;
    size_t n;
    c->res->entries++;
    int rc = hd_store_get(c->txn, t, k, &v, &n, c->err);
    if (rc == HD_ENOTFOUND) {
        problem(c, "ticket %" PRIu64 ": no %s index entry", id, what);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (want_id && (n != 8 || be64(v) != id))
        problem(c, "ticket %" PRIu64 ": %s index entry names another ticket", id, what);
    return 0;
}

static int check_ticket_indexes(checker *c, const Helpdesk__V1__Ticket *t)
{
    hd_key k;
    int rc = expect_entry(c, HD_STORE_IDX_NUMBER, "number", hd_tickets_key_number(&k, t->number),
                          t->id, 1);
    if (rc == 0)
        rc = expect_entry(
            c, HD_STORE_IDX_STATUS, "status",
            hd_tickets_key_status(&k, (uint32_t)t->status, (uint32_t)t->priority, t->id), t->id, 0);
    if (rc == 0)
        rc = expect_entry(c, HD_STORE_IDX_CUSTOMER, "customer",
                          hd_tickets_key_customer(&k, t->customer_id, t->id), t->id, 0);
    if (rc == 0)
        rc = expect_entry(c, HD_STORE_IDX_ASSIGNEE, "assignee",
                          hd_tickets_key_assignee(&k, t->assignee_id, t->id), t->id, 0);
    if (rc == 0)
        rc = expect_entry(c, HD_STORE_IDX_CATEGORY, "category",
                          hd_tickets_key_category(&k, t->category, t->id), t->id, 0);
    if (rc == 0)
        rc = expect_entry(c, HD_STORE_IDX_UPDATED, "updated",
                          hd_tickets_key_updated(&k, hd_tickets_ts_ms(t->update_time), t->id),
                          t->id, 0);
    for (size_t i = 0; rc == 0 && i < t->n_tags; i++)
        rc = expect_entry(c, HD_STORE_IDX_TAG, "tag", hd_tickets_key_tag(&k, t->tags[i], t->id),
                          t->id, 0);
    return rc;
}

static int on_ticket(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    checker *c = arg;
    c->res->tickets++;
    Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)protobuf_c_message_unpack(
        &helpdesk__v1__ticket__descriptor, NULL, vlen, val);
    uint64_t kid = klen == 8 ? be64(key) : 0;
    if (!t) {
        problem(c, "ticket record under id %" PRIu64 " does not decode", kid);
        return 0;
    }
    if (klen != 8 || t->id != kid)
        problem(c, "ticket %" PRIu64 " stored under id %" PRIu64, t->id, kid);
    c->by_status[(uint32_t)t->status < NSTATUS ? t->status : NSTATUS - 1]++;
    c->tags += t->n_tags;
    c->message_counts += t->message_count;
    int rc = check_ticket_indexes(c, t);
    protobuf_c_message_free_unpacked(&t->base, NULL);
    return rc;
}

/* Compares the message count of the ticket just finished with its record. */
static int close_ticket_messages(checker *c)
{
    if (!c->cur_ticket)
        return 0;
    hd_key k;
    const void *v;
    size_t n;
    int rc = hd_store_get(c->txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, c->cur_ticket), &v, &n,
                          c->err);
    if (rc == HD_ENOTFOUND) {
        problem(c, "%" PRIu64 " messages of missing ticket %" PRIu64, c->cur_messages,
                c->cur_ticket);
        return 0;
    }
    if (rc < 0)
        return rc;
    Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)protobuf_c_message_unpack(
        &helpdesk__v1__ticket__descriptor, NULL, n, v);
    if (t && t->message_count != c->cur_messages)
        problem(c, "ticket %" PRIu64 ": message_count %" PRIu32 " but %" PRIu64 " messages",
                c->cur_ticket, t->message_count, c->cur_messages);
    if (t)
        protobuf_c_message_free_unpacked(&t->base, NULL);
    return 0;
}

static int on_message(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    checker *c = arg;
    (void)val;
    (void)vlen;
    c->res->messages++;
    if (klen != 16) {
        problem(c, "message key of %zu bytes, want 16", klen);
        return 0;
    }
    uint64_t tid = be64(key);
    if (tid != c->cur_ticket) {
        int rc = close_ticket_messages(c);
        if (rc < 0)
            return rc;
        c->cur_ticket = tid;
        c->cur_messages = 0;
    }
    c->cur_messages++;
    return 0;
}

static int on_number(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    checker *c = arg;
    (void)key;
    (void)klen;
    if (vlen != 8) {
        problem(c, "number index entry with a %zu-byte value", vlen);
        return 0;
    }
    hd_key k;
    const void *v;
    size_t n;
    uint64_t id = be64(val);
    int rc = hd_store_get(c->txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id), &v, &n, c->err);
    if (rc == HD_ENOTFOUND)
        problem(c, "number index entry names missing ticket %" PRIu64, id);
    return rc == HD_ENOTFOUND ? 0 : rc;
}

/* Every index must hold exactly `want` entries (presence was checked per ticket). */
static int expect_count(checker *c, hd_table t, const char *what, uint64_t want)
{
    uint64_t n = 0;
    int rc = hd_store_count(c->txn, t, &n, c->err);
    if (rc < 0)
        return rc;
    c->res->entries++;
    if (n != want)
        problem(c, "%s index has %" PRIu64 " entries, tickets need %" PRIu64, what, n, want);
    return 0;
}

static int check_counts(checker *c)
{
    uint64_t nt = c->res->tickets;
    int rc = expect_count(c, HD_STORE_IDX_NUMBER, "number", nt);
    if (rc == 0)
        rc = expect_count(c, HD_STORE_IDX_STATUS, "status", nt);
    if (rc == 0)
        rc = expect_count(c, HD_STORE_IDX_CUSTOMER, "customer", nt);
    if (rc == 0)
        rc = expect_count(c, HD_STORE_IDX_ASSIGNEE, "assignee", nt);
    if (rc == 0)
        rc = expect_count(c, HD_STORE_IDX_CATEGORY, "category", nt);
    if (rc == 0)
        rc = expect_count(c, HD_STORE_IDX_UPDATED, "updated", nt);
    if (rc == 0)
        rc = expect_count(c, HD_STORE_IDX_TAG, "tag", c->tags);
    if (rc == 0 && c->message_counts != c->res->messages)
        problem(c, "tickets count %" PRIu64 " messages, %" PRIu64 " are stored", c->message_counts,
                c->res->messages);
    return rc;
}

static int on_created(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    uint64_t *sum = arg;
    (void)key;
    (void)klen;
    if (vlen == 8)
        *sum += be64(val);
    return 0;
}

static int check_rollups(checker *c)
{
    for (uint32_t s = 1; s < NSTATUS - 1; s++) {
        uint64_t v = 0;
        int rc = hd_rollup_get(c->txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, s, &v, c->err);
        if (rc < 0)
            return rc;
        c->res->entries++;
        if (v != c->by_status[s])
            problem(c, "rollup %s[status %" PRIu32 "] is %" PRIu64 ", recount %" PRIu64,
                    HD_TICKETS_ROLLUP_STATUS_NOW, s, v, c->by_status[s]);
    }
    /* tickets.created: key = metric string + day + dim; sum every day's dim-0 counter. */
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_str(&prefix, HD_TICKETS_ROLLUP_CREATED);
    hd_store_range r = {.prefix = &prefix};
    uint64_t sum = 0;
    int64_t n = hd_store_scan(c->txn, HD_STORE_ROLLUPS, &r, on_created, &sum, c->err);
    if (n < 0)
        return (int)n;
    c->res->entries++;
    if (sum != c->res->tickets)
        problem(c, "rollup %s sums to %" PRIu64 " over all days, %" PRIu64 " tickets exist",
                HD_TICKETS_ROLLUP_CREATED, sum, c->res->tickets);
    return 0;
}

int hd_check_store(hd_check_result *out, hd_store *s, FILE *report, hd_err *err)
{
    checker c = {.report = report, .res = out, .err = err};
    hd_store_range all = {0};
    memset(out, 0, sizeof(*out));
    int rc = hd_store_read_begin(s, &c.txn, err);
    if (rc < 0)
        return rc;
    int64_t n = hd_store_scan(c.txn, HD_STORE_TICKETS, &all, on_ticket, &c, err);
    if (n >= 0)
        n = hd_store_scan(c.txn, HD_STORE_MESSAGES, &all, on_message, &c, err);
    if (n >= 0)
        n = close_ticket_messages(&c);
    if (n >= 0)
        n = hd_store_scan(c.txn, HD_STORE_IDX_NUMBER, &all, on_number, &c, err);
    if (n >= 0)
        n = check_counts(&c);
    if (n >= 0)
        n = check_rollups(&c);
    hd_store_read_end(c.txn);
    return n < 0 ? (int)n : HD_OK;
}
