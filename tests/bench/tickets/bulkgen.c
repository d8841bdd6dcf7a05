/* Fast bulk ticket generator for benchmarks: fills a data directory with N tickets through
 * the real create mutation (record, first message, CREATED event, every index, rollups),
 * many tickets per write transaction and without fsync, so 1M tickets take about a minute
 * instead of the hours one RPC per ticket would. Observers (SLA, dashboard, staff metrics)
 * are not registered: the data is for read benchmarks (ListTickets, GetTicket), not for
 * checking derived state. Prints the count, time and rate.
 * Usage: bulkgen --data DIR [--tickets N] [--batch B] */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/common/arena.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

typedef struct batch {
    hd_tickets_create_args *args;
    size_t n;
} batch;

/* One transaction of b->n creates; replayable because each create is. */
static int batch_apply(hd_txn *txn, void *arg, hd_err *err)
{
    batch *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        int rc = hd_tickets_create_apply(txn, &b->args[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"tickets", required_argument, NULL, 'n'},
        {"batch", required_argument, NULL, 'b'},
        {NULL, 0, NULL, 0},
    };
    static const Helpdesk__V1__Priority prio[] = {
        HELPDESK__V1__PRIORITY__PRIORITY_LOW, HELPDESK__V1__PRIORITY__PRIORITY_NORMAL,
        HELPDESK__V1__PRIORITY__PRIORITY_NORMAL, HELPDESK__V1__PRIORITY__PRIORITY_HIGH};
    const char *dir = NULL;
    long total = 1000000, per = 5000;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'n')
            total = strtol(optarg, NULL, 10);
        else if (c == 'b')
            per = strtol(optarg, NULL, 10);
        else
            return 2;
    }
    if (!dir || total <= 0 || per <= 0 || per > 100000) {
        fputs("usage: bulkgen --data DIR [--tickets N] [--batch B (1-100000)]\n", stderr);
        return 2;
    }

    hd_store_opts o = {.path = dir, .unsafe_nosync = 1, .map_start = 1ull << 30};
    hd_store *s = NULL;
    hd_arena *a = hd_arena_create(1 << 20);
    batch b = {calloc((size_t)per, sizeof(*b.args)), 0};
    hd_err err = {0};
    char email[64], subject[64];
    int rc = 1;
    if (!a || !b.args || hd_store_open(&s, &o, &err) != 0) {
        fprintf(stderr, "bulkgen: %s: %s\n", dir, err.detail);
        goto fail;
    }
    double t0 = now_s();
    for (long done = 0; done < total; done += (long)b.n) {
        hd_arena_reset(a);
        b.n = (size_t)(total - done < per ? total - done : per);
        for (size_t i = 0; i < b.n; i++) {
            long k = done + (long)i;
            Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
            snprintf(email, sizeof(email), "customer%ld@example.com", k % 50000);
            snprintf(subject, sizeof(subject), "Bulk ticket %ld", k);
            req.customer_email = email;
            req.subject = subject;
            req.body = (char *)"A body of a typical size for a first message, a few lines.";
            req.priority = prio[k % 4];
            req.category = (char *)(k % 3 ? "billing" : "tech");
            if (hd_tickets_create_prepare(&b.args[i], a, &req, NULL, NULL, &err) != 0) {
                fprintf(stderr, "bulkgen: prepare: %s\n", err.detail);
                goto fail;
            }
            /* prepare borrows the strings: keep them in the arena. */
            b.args[i].customer_email = hd_arena_strdup(a, b.args[i].customer_email);
            b.args[i].subject = hd_arena_strdup(a, subject);
        }
        if (hd_store_write(s, batch_apply, &b, &err) != 0) {
            fprintf(stderr, "bulkgen: write: %s\n", err.detail);
            goto fail;
        }
    }
    double dt = now_s() - t0;
    printf("bulkgen: %ld tickets in %.1f s (%.0f tickets/s)\n", total, dt, (double)total / dt);
    rc = 0;
fail:
    hd_store_close(s);
    hd_arena_destroy(a);
    free(b.args);
    return rc;
}
