/* Ticket domain throughput on a durable store (real fsync): T threads each creating tickets
 * with hd_tickets_create (one group-committed mutation per ticket) for S seconds, then the
 * latency of GetTicket and of one ListTickets page (unfiltered, and filtered by a status that
 * matches 5 tickets) over everything created. Prints one line per measurement.
 * Usage: tickets_bench [--seconds S] [--threads T] [--dir PARENT] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/common/arena.h"
#include "server/common/log.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

typedef struct bench {
    hd_store *s;
    atomic_int stop;
    atomic_long done;
    atomic_long failed;
} bench;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *run_worker(void *arg)
{
    bench *b = arg;
    hd_arena *a = hd_arena_create(1 << 14);
    Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
    char email[64];
    req.subject = (char *)"Benchmark ticket";
    req.body = (char *)"A body of a typical size for a first message, a few lines of text.";
    req.customer_email = email;
    for (unsigned i = 0; a && !atomic_load(&b->stop); i++) {
        hd_tickets_create_args args;
        hd_err err = {0};
        snprintf(email, sizeof(email), "user%u@example.com", i % 1000);
        int rc = hd_tickets_create_prepare(&args, a, &req, NULL, NULL, &err);
        if (rc == 0)
            rc = hd_tickets_create(b->s, &args, &err);
        atomic_fetch_add(rc == 0 ? &b->done : &b->failed, 1);
        hd_arena_reset(a);
    }
    hd_arena_destroy(a);
    return NULL;
}

typedef struct status_arg {
    uint64_t id;
    hd_arena *a;
} status_arg;

/* Moves a ticket to OPEN (record + IDX_STATUS), as a status change will. */
static int apply_open(hd_txn *txn, void *arg, hd_err *err)
{
    status_arg *sa = arg;
    hd_key k;
    ProtobufCMessage *m;
    int rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, sa->id),
                              &helpdesk__v1__ticket__descriptor, sa->a, &m, err);
    if (rc)
        return rc;
    Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)m;
    rc = hd_store_del(txn, HD_STORE_IDX_STATUS,
                      hd_tickets_key_status(&k, t->status, t->priority, t->id), err);
    if (rc)
        return rc;
    t->status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN;
    rc = hd_store_put(txn, HD_STORE_IDX_STATUS,
                      hd_tickets_key_status(&k, t->status, t->priority, t->id), "", 0, 0, err);
    if (rc)
        return rc;
    return hd_store_put_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, t->id), &t->base, 0, err);
}

static void time_list(hd_store *s, hd_arena *a, Helpdesk__V1__TicketStatus status,
                      const char *label)
{
    enum { REPS = 200 };
    hd_tickets_query q = {.status = status, .page_size = 50};
    hd_tickets_page p = {0};
    hd_err err = {0};
    double t0 = now_s();
    for (int i = 0; i < REPS; i++) {
        hd_arena_reset(a);
        if (hd_tickets_list(s, a, &q, &p, &err))
            fprintf(stderr, "list: %s\n", err.detail);
    }
    double us = (now_s() - t0) / REPS * 1e6;
    printf("list %-22s %6.1f us/page  (%zu tickets, %llu entries read)\n", label, us, p.n_tickets,
           (unsigned long long)p.visited);
}

int main(int argc, char **argv)
{
    double seconds = 5;
    int threads = 64;
    const char *parent = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            parent = argv[i + 1];
    }
    hd_log_set_level(HD_LOG_WARN);
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/tickets-bench-XXXXXX", parent);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    hd_store_opts o = {.path = dir};
    bench b = {0};
    hd_err err = {0};
    if (hd_store_open(&b.s, &o, &err)) {
        fprintf(stderr, "open: %s\n", err.detail);
        return 1;
    }
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    double t0 = now_s();
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, run_worker, &b);
    struct timespec d = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&d, NULL); /* the measured interval itself */
    atomic_store(&b.stop, 1);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double el = now_s() - t0;
    long n = atomic_load(&b.done);
    hd_store_stats st;
    hd_store_stats_get(b.s, &st, &err);
    printf("create durable %d threads: %ld tickets in %.2f s = %.0f tickets/s, %llu commits "
           "(%.1f tickets/commit), %ld failed\n",
           threads, n, el, (double)n / el, (unsigned long long)st.commits,
           st.commits ? (double)st.mutations / (double)st.commits : 0.0, atomic_load(&b.failed));

    hd_arena *a = hd_arena_create(1 << 16);
    for (uint64_t i = 0; i < 5 && n > 0; i++) {
        status_arg sa = {1 + i * (uint64_t)n / 5, a};
        if (hd_store_write(b.s, apply_open, &sa, &err))
            fprintf(stderr, "open ticket: %s\n", err.detail);
        hd_arena_reset(a);
    }
    double g0 = now_s();
    for (int i = 0; i < 1000 && n > 0; i++) {
        hd_tickets_thread t;
        hd_arena_reset(a);
        if (hd_tickets_get(b.s, a, 1 + (uint64_t)i * 7919 % (uint64_t)n, NULL, &t, &err))
            fprintf(stderr, "get: %s\n", err.detail);
    }
    printf("get with thread          %6.1f us\n", (now_s() - g0) / 1000 * 1e6);
    time_list(b.s, a, 0, "newest, no filter");
    time_list(b.s, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN, "status OPEN (5 match)");
    time_list(b.s, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW, "status NEW");
    hd_arena_destroy(a);
    hd_store_close(b.s);
    free(th);
    return 0;
}
