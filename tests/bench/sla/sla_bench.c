/* SLA micro-benchmark: business-time arithmetic per call, the ticket observer per created
 * ticket, and one monitor step over a store of N tickets of which K are due (the step reads
 * the due index only up to now, so it scales with K, not N).
 *     bazel run -c opt //tests/bench/sla:sla_bench -- [N=20000] [K=100] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "helpdesk/v1/sla.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/sla/calendar.h"
#include "server/sla/config.h"
#include "server/sla/engine.h"
#include "server/sla/monitor.h"
#include "server/sla/record.h"

static double now_s(void);
static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct {
    int from, n;
    int64_t base_ms;
} mk;
static int mk_apply(hd_txn *txn, void *arg, hd_err *err)
{
    mk *m = arg;
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__TicketEvent ev = HELPDESK__V1__TICKET_EVENT__INIT;
    Helpdesk__V1__Message msg = HELPDESK__V1__MESSAGE__INIT;
    msg.author_kind = HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER;
    for (int i = 0; i < m->n; i++) {
        Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
        t.id = (uint64_t)(m->from + i);
        t.status = 1;
        t.priority = 3;
        t.category = (char *)"x";
        hd_key k;
        hd_key_init(&k);
        hd_key_u64(&k, t.id);
        int rc = hd_store_put_msg(txn, HD_STORE_TICKETS, &k, &t.base, 0, err);
        hd_ticket_change ch = {
            txn, a, NULL, &t, &ev, &msg, m->base_ms + (int64_t)(m->from + i) * 1000};
        if (rc == 0)
            rc = hd_sla_engine_observe(NULL, &ch, err);
        hd_arena_reset(a);
        if (rc) {
            hd_arena_destroy(a);
            return rc;
        }
    }
    hd_arena_destroy(a);
    return 0;
}
typedef struct {
    Helpdesk__V1__Calendar *c;
    Helpdesk__V1__SlaPolicy *p;
} cfg;
static int cfg_apply(hd_txn *txn, void *arg, hd_err *err)
{
    cfg *c = arg;
    c->c->id = 0;
    c->p->id = 0;
    int rc = hd_sla_config_put_calendar(txn, c->c, err);
    c->p->calendar_id = c->c->id;
    return rc ? rc : hd_sla_config_put_policy(txn, c->p, err);
}

int main(int argc, char **argv)
{
    int total = argc > 1 ? atoi(argv[1]) : 20000, due = argc > 2 ? atoi(argv[2]) : 100;
    /* 1. calendar arithmetic */
    hd_sla_interval office[10];
    for (int d = 0; d < 5; d++) {
        office[2 * d] = (hd_sla_interval){d + 1, 540, 720};
        office[2 * d + 1] = (hd_sla_interval){d + 1, 780, 1050};
    }
    hd_sla_holiday hol[] = {{0, 12, 25}, {0, 1, 1}, {2026, 4, 3}};
    hd_sla_calendar_def def = {"Europe/London", 10, office, 3, hol};
    hd_sla_calendar *cal;
    hd_err err;
    hd_sla_calendar_compile(&cal, &def, &err);
    int N = 100000;
    int64_t sink = 0;
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        int64_t d;
        hd_sla_calendar_add(cal, 1767571200 + (int64_t)i * 997, 480 * 60, &d, &err);
        sink += d;
    }
    double t1 = now_s();
    for (int i = 0; i < N; i++)
        sink += hd_sla_calendar_count(cal, 1767571200 + (int64_t)i * 997,
                                      1767571200 + (int64_t)i * 997 + 30 * 86400);
    double t2 = now_s();
    printf("calendar_add(480 business min, London office+lunch): %.2f us/call\n",
           (t1 - t0) / N * 1e6);
    printf("calendar_count(30 days span): %.2f us/call  (sink %lld)\n", (t2 - t1) / N * 1e6,
           (long long)(sink & 1));
    /* 2. monitor cost vs ticket count */
    char dir[] = "/tmp/sla-bench-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    hd_store *s;
    hd_store_opts o = {.path = dir, .unsafe_nosync = 1};
    if (hd_store_open(&s, &o, &err)) {
        printf("open: %s\n", err.detail);
        return 1;
    }
    Helpdesk__V1__WorkingInterval iv[7], *ivp[7];
    for (int d = 0; d < 7; d++) {
        helpdesk__v1__working_interval__init(&iv[d]);
        iv[d].weekday = d;
        iv[d].end_minute = 1440;
        ivp[d] = &iv[d];
    }
    Helpdesk__V1__Calendar c = HELPDESK__V1__CALENDAR__INIT;
    c.name = (char *)"a";
    c.time_zone = (char *)"UTC";
    c.n_intervals = 7;
    c.intervals = ivp;
    Helpdesk__V1__SlaTargetTime tt = HELPDESK__V1__SLA_TARGET_TIME__INIT, *ttp[] = {&tt};
    tt.target = 1;
    tt.minutes = 60;
    Helpdesk__V1__SlaPolicy p = HELPDESK__V1__SLA_POLICY__INIT;
    p.name = (char *)"p";
    p.n_targets = 1;
    p.targets = ttp;
    p.warning_percent = 99;
    cfg cc = {&c, &p};
    hd_store_write(s, cfg_apply, &cc, &err);
    int64_t base_ms = 1767571200000LL;
    double t3 = now_s();
    for (int i = 0; i < total; i += 1000) {
        mk m = {i + 1, 1000, base_ms};
        if (hd_store_write(s, mk_apply, &m, &err)) {
            printf("mk: %s\n", err.detail);
            return 1;
        }
    }
    double t4 = now_s();
    printf("observer: %d ticket creations through the SLA observer in 1000-ticket txns: %.1f "
           "us/ticket\n",
           total, (t4 - t3) / total * 1e6);
    /* ticket i (1-based) created at base+i s, 60 min target, warning at 99% = 3564 s: step at base
     * + due*1 + 3564 fires `due` warnings */
    int64_t at = base_ms + ((int64_t)due * 1000) + 3564000;
    int fired = 0;
    double t5 = now_s();
    hd_sla_monitor_step(s, at, &fired, &err);
    double t6 = now_s();
    printf("monitor step with %d tickets in the index, %d due: fired %d in %.2f ms\n", total, due,
           fired, (t6 - t5) * 1e3);
    t5 = now_s();
    hd_sla_monitor_step(s, at, &fired, &err);
    t6 = now_s();
    printf("monitor step again (nothing due): fired %d in %.3f ms\n", fired, (t6 - t5) * 1e3);
    hd_store_close(s);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}
