/* Brute-force ListTickets checks (see list_check.h). */
#include "tests/unit/server/tickets/list_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "server/tickets/change.h"
#include "tests/unit/server/tickets/fixture.h"

#define SORT(x) HELPDESK__V1__TICKET_SORT__TICKET_SORT_##x

typedef struct reader {
    lc_all *out;
    size_t max;
    hd_arena *a;
} reader;

static int all_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    reader *r = arg;
    ProtobufCAllocator pa;
    (void)key;
    (void)klen;
    hd_arena_pb_allocator(r->a, &pa);
    r->out->t[r->out->n] = (Helpdesk__V1__Ticket *)protobuf_c_message_unpack(
        &helpdesk__v1__ticket__descriptor, &pa, vlen, val);
    if (!r->out->t[r->out->n])
        return HD_ECORRUPT;
    return ++r->out->n == r->max ? 1 : 0;
}

lc_all lc_read_all(hd_store *s, hd_arena *a, size_t max)
{
    lc_all every = {hd_arena_calloc(a, max + 1, sizeof(*every.t)), 0};
    reader r = {&every, max, a};
    hd_txn *txn;
    hd_err err = {0};
    assert_non_null(every.t);
    TF_ASSERT_OK(hd_store_read_begin(s, &txn, &err), err);
    int64_t n = hd_store_scan(txn, HD_STORE_TICKETS, NULL, all_cb, &r, &err);
    hd_store_read_end(txn);
    if (n < 0)
        fail_msg("scan of TICKETS: %s (%s)", hd_errname((int)n), err.detail);
    return every;
}

static int sort_kind;

/* Expected order: <0 when x comes first. */
static int cmp_expected(const void *px, const void *py)
{
    const Helpdesk__V1__Ticket *x = *(Helpdesk__V1__Ticket *const *)px,
                               *y = *(Helpdesk__V1__Ticket *const *)py;
    if (sort_kind == SORT(UPDATE_TIME_DESC)) {
        int64_t ux = hd_tickets_ts_ms(x->update_time), uy = hd_tickets_ts_ms(y->update_time);
        if (ux != uy)
            return ux > uy ? -1 : 1;
    } else if (sort_kind == SORT(PRIORITY) && x->priority != y->priority) {
        return x->priority < y->priority ? -1 : 1;
    }
    return x->id > y->id ? -1 : 1;
}

size_t lc_check_query(hd_store *s, hd_arena *a, const lc_all *every, hd_tickets_query q,
                      lc_want_fn want, const char *what)
{
    Helpdesk__V1__Ticket **exp = hd_arena_calloc(a, every->n + 1, sizeof(*exp));
    size_t n_exp = 0, n_got = 0;
    hd_err err = {0};
    assert_non_null(exp);
    for (size_t i = 0; i < every->n; i++)
        if (want(&q, every->t[i]))
            exp[n_exp++] = every->t[i];
    sort_kind = (int)q.sort;
    if (n_exp > 1)
        qsort(exp, n_exp, sizeof(exp[0]), cmp_expected);
    q.page_size = 4;
    q.page_token = "";
    for (size_t guard = 0; guard <= every->n; guard++) {
        hd_tickets_page p;
        TF_ASSERT_OK(hd_tickets_list(s, a, &q, &p, &err), err);
        for (size_t i = 0; i < p.n_tickets; i++, n_got++) {
            if (n_got >= n_exp || p.tickets[i]->id != exp[n_got]->id)
                fail_msg("%s: result %zu is ticket %llu, want %llu", what, n_got,
                         (unsigned long long)p.tickets[i]->id,
                         n_got < n_exp ? (unsigned long long)exp[n_got]->id : 0ULL);
        }
        if (!p.next_page_token[0])
            break;
        if (p.n_tickets != 4)
            fail_msg("%s: short page of %zu before the end", what, p.n_tickets);
        q.page_token = p.next_page_token;
    }
    if (n_got != n_exp)
        fail_msg("%s: got %zu tickets, want %zu", what, n_got, n_exp);
    return n_exp;
}
