/* Fast bulk ticket generator for benchmarks: fills a data directory with N tickets through
 * the real mutations (record, first message, CREATED event, every index, rollups) with the
 * observers helpdeskd registers (SLA clocks, staff metrics, dashboard, the reports' rollups
 * and report facts), so the store holds what a server would have written. Many tickets per
 * write transaction and no fsync, so 1M tickets take minutes instead of the hours one RPC
 * per ticket would. With --days the creation times spread over that many days before --end
 * (default: all now); with --work each ticket also gets a history in its past: an SLA
 * policy (Mon-Fri 08-18 Europe/Berlin; first response 4 h, resolution 24 h of business time)
 * is stored first, then 90% of tickets get a staff reply 5-600 minutes after creation, 70%
 * solved by it, and 30% of the solved ones a customer rating an hour later (deterministic
 * in the ticket's number). Prints the count, time and rate.
 * Usage: bulkgen --data DIR [--tickets N] [--batch B] [--days D] [--end UNIX_S] [--work] */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpdesk/v1/sla.pb-c.h"
#include "server/common/arena.h"
#include "server/reports/facts.h"
#include "server/reports/rollups.h"
#include "server/sla/config.h"
#include "server/sla/engine.h"
#include "server/staff/metrics.h"
#include "server/store/store.h"
#include "server/tickets/dashboard.h"
#include "server/tickets/rating.h"
#include "server/tickets/reply.h"
#include "server/tickets/tickets.h"

typedef struct batch {
    hd_tickets_create_args *args;
    size_t n;
    long first;  /* number of the batch's first ticket */
    int work;    /* add each ticket's history */
    int64_t end; /* no event at or after this instant (s) */
} batch;

/* A ticket's pseudo-random draw, fixed by its number. */
static uint64_t draw(long k)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    x ^= x >> 31;
    x *= 0xBF58476D1CE4E5B9ull;
    return x ^ (x >> 29);
}

/* Ticket k's history after its creation (see the file comment), in the same txn. */
static int history(hd_txn *txn, const hd_tickets_create_args *c, long k, int64_t end, hd_err *err)
{
    uint64_t r = draw(k);
    if (r % 10 == 9)
        return 0; /* never answered */
    int64_t created = c->now_ms / 1000, replied = created + (int64_t)(5 + (r >> 8) % 596) * 60;
    if (replied >= end)
        return 0;
    int solve = (r >> 20) % 10 < 7;
    hd_tickets_reply_args rp = {
        .op = HD_TICKETS_REPLY_SEND,
        .ticket_id = c->ticket->id,
        .body = "Thanks, this is sorted now.",
        .status_after = solve ? HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED
                              : HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING,
        .actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF, 1 + (r >> 32) % 20},
        .now_ms = replied * 1000,
        .arena = c->arena,
        .request_id = ""};
    int rc = hd_tickets_reply_apply(txn, &rp, err);
    if (rc < 0 || !solve || (r >> 40) % 10 >= 3 || replied + 3600 >= end)
        return rc < 0 ? rc : 0;
    hd_tickets_rate_args ra = {
        .ticket_id = c->ticket->id,
        .score = 1 + (uint32_t)((r >> 48) % 5),
        .comment = "",
        .actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER, c->ticket->customer_id},
        .now_ms = (replied + 3600) * 1000,
        .arena = c->arena};
    rc = hd_tickets_rate_apply(txn, &ra, err);
    return rc < 0 ? rc : 0;
}

/* One transaction of b->n creates (and histories); replayable because each mutation is. */
static int batch_apply(hd_txn *txn, void *arg, hd_err *err)
{
    batch *b = arg;
    for (size_t i = 0; i < b->n; i++) {
        int rc = hd_tickets_create_apply(txn, &b->args[i], err);
        if (rc < 0)
            return rc;
        if (b->work && (rc = history(txn, &b->args[i], b->first + (long)i, b->end, err)) < 0)
            return rc;
    }
    return 0;
}

/* The SLA policy --work measures against (see the file comment). */
static int policy_apply(hd_txn *txn, void *arg, hd_err *err)
{
    (void)arg;
    Helpdesk__V1__WorkingInterval iv[5], *ivp[5];
    for (int d = 0; d < 5; d++) {
        helpdesk__v1__working_interval__init(&iv[d]);
        iv[d].weekday = d + 1;
        iv[d].start_minute = 8 * 60;
        iv[d].end_minute = 18 * 60;
        ivp[d] = &iv[d];
    }
    Helpdesk__V1__Calendar cal = HELPDESK__V1__CALENDAR__INIT;
    cal.name = (char *)"Office";
    cal.time_zone = (char *)"Europe/Berlin";
    cal.n_intervals = 5;
    cal.intervals = ivp;
    int rc = hd_sla_config_put_calendar(txn, &cal, err);
    if (rc)
        return rc;
    Helpdesk__V1__SlaTargetTime fr = HELPDESK__V1__SLA_TARGET_TIME__INIT;
    Helpdesk__V1__SlaTargetTime res = HELPDESK__V1__SLA_TARGET_TIME__INIT;
    fr.target = HELPDESK__V1__SLA_TARGET__SLA_TARGET_FIRST_RESPONSE;
    fr.minutes = 240;
    res.target = HELPDESK__V1__SLA_TARGET__SLA_TARGET_RESOLUTION;
    res.minutes = 1440;
    Helpdesk__V1__SlaTargetTime *targets[] = {&fr, &res};
    Helpdesk__V1__SlaPolicy p = HELPDESK__V1__SLA_POLICY__INIT;
    p.name = (char *)"Bench";
    p.calendar_id = cal.id;
    p.n_targets = 2;
    p.targets = targets;
    return hd_sla_config_put_policy(txn, &p, err);
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
        {"days", required_argument, NULL, 'D'},
        {"end", required_argument, NULL, 'e'},
        {"work", no_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    static const Helpdesk__V1__Priority prio[] = {
        HELPDESK__V1__PRIORITY__PRIORITY_LOW, HELPDESK__V1__PRIORITY__PRIORITY_NORMAL,
        HELPDESK__V1__PRIORITY__PRIORITY_NORMAL, HELPDESK__V1__PRIORITY__PRIORITY_HIGH};
    const char *dir = NULL;
    long total = 1000000, per = 5000, days = 0;
    int64_t end = (int64_t)time(NULL);
    int work = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'n')
            total = strtol(optarg, NULL, 10);
        else if (c == 'b')
            per = strtol(optarg, NULL, 10);
        else if (c == 'D')
            days = strtol(optarg, NULL, 10);
        else if (c == 'e')
            end = strtoll(optarg, NULL, 10);
        else if (c == 'w')
            work = 1;
        else
            return 2;
    }
    if (!dir || total <= 0 || per <= 0 || per > 100000 || days < 0 || days > 3650 ||
        end <= days * 86400) {
        fputs("usage: bulkgen --data DIR [--tickets N] [--batch B (1-100000)] [--days D "
              "(0-3650)]\n               [--end UNIX_S] [--work]\n",
              stderr);
        return 2;
    }
    /* The observers helpdeskd registers (server/main.c), in its order. */
    if (hd_tickets_observe(hd_sla_engine_observe, NULL) ||
        hd_tickets_observe(hd_staff_metrics_observe, NULL) ||
        hd_tickets_observe(hd_dashboard_observe, NULL) ||
        hd_tickets_observe(hd_reports_rollups_observe, NULL) ||
        hd_tickets_observe(hd_reports_facts_observe, NULL)) {
        fputs("bulkgen: cannot register the observers\n", stderr);
        return 1;
    }

    hd_store_opts o = {.path = dir, .unsafe_nosync = 1, .map_start = 1ull << 30};
    hd_store *s = NULL;
    hd_arena *a = hd_arena_create(1 << 20);
    batch b = {.args = calloc((size_t)per, sizeof(*b.args))};
    hd_err err = {0};
    char email[64], subject[64];
    int rc = 1;
    if (!a || !b.args || hd_store_open(&s, &o, &err) != 0) {
        fprintf(stderr, "bulkgen: %s: %s\n", dir, err.detail);
        goto fail;
    }
    if (work && hd_store_write(s, policy_apply, NULL, &err) != 0) {
        fprintf(stderr, "bulkgen: sla policy: %s\n", err.detail);
        goto fail;
    }
    b.work = work;
    b.end = end;
    double t0 = now_s();
    for (long done = 0; done < total; done += (long)b.n) {
        hd_arena_reset(a);
        b.n = (size_t)(total - done < per ? total - done : per);
        b.first = done;
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
            if (days) /* spread evenly over [end - days, end) */
                b.args[i].now_ms = (end - days * 86400) * 1000 +
                                   (int64_t)((double)k / (double)total * (double)days * 86400000.0);
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
