/* SLA webhook actions end to end on a real store and a loopback HTTP peer: the action is
 * queued once per ticket/target/run/event, a failing POST is recorded and retried after the
 * backoff (test clock passed explicitly, no sleeping), a later success marks it delivered. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "helpdesk/v1/sla.pb-c.h"
#include "server/sla/actions.h"
#include "server/sla/webhook.h"

/* A loopback HTTP peer answering each connection with the next status of its list. */
typedef struct peer {
    int fd;
    int port;
    int statuses[4];
    int n;
    char last_body[512];
    pthread_t th;
} peer;

static void *peer_main(void *arg)
{
    peer *p = arg;
    for (int i = 0; i < p->n; i++) {
        int c = accept(p->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char buf[4096];
        size_t got = 0;
        /* Read headers and the JSON body (ends with '}'); bounded by the buffer. */
        while (got < sizeof(buf) - 1) {
            ssize_t r = read(c, buf + got, sizeof(buf) - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
            buf[got] = '\0';
            char *body = strstr(buf, "\r\n\r\n");
            if (body && strchr(body, '}')) {
                snprintf(p->last_body, sizeof(p->last_body), "%s", body + 4);
                break;
            }
        }
        char resp[128];
        int n = snprintf(resp, sizeof(resp),
                         "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                         p->statuses[i]);
        if (write(c, resp, (size_t)n) < 0)
            perror("write");
        close(c);
    }
    return NULL;
}

static void peer_start(peer *p)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->fd >= 0);
    assert_int_equal(bind(p->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(p->fd, 4), 0);
    assert_int_equal(getsockname(p->fd, (struct sockaddr *)&a, &len), 0);
    p->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&p->th, NULL, peer_main, p), 0);
}

typedef struct run_arg {
    Helpdesk__V1__SlaPolicy *p;
    hd_sla_ticket *t;
    hd_sla_fired *f;
    int64_t now_ms;
    int ran;
} run_arg;

static int run_apply(hd_txn *txn, void *arg, hd_err *err)
{
    run_arg *r = arg;
    hd_arena *a = hd_arena_create(0);
    r->ran = hd_sla_actions_run(txn, a, r->t, r->p, r->f, r->now_ms, 1, err);
    hd_arena_destroy(a);
    return r->ran < 0 ? r->ran : 0;
}

static Helpdesk__V1__SlaDelivery *delivery(hd_store *s, hd_arena *a)
{
    hd_txn *rt;
    hd_err err;
    hd_key k;
    Helpdesk__V1__SlaDelivery *d = NULL;
    assert_int_equal(hd_store_read_begin(s, &rt, &err), 0);
    hd_sla_actions_delivery_key(&k, 5, 1, 1, 2, 0);
    assert_int_equal(hd_store_get_msg(rt, HD_STORE_SETTINGS, &k,
                                      &helpdesk__v1__sla_delivery__descriptor, a,
                                      (ProtobufCMessage **)&d, &err),
                     0);
    hd_store_read_end(rt);
    return d;
}

static void failed_webhook_is_visible_then_retried_after_backoff_and_delivered(void **state)
{
    (void)state;
    char dir[256], url[64];
    const char *base = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/whXXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    hd_store *s = NULL;
    hd_store_opts o = {.path = dir, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&s, &o, &err), 0);
    peer p = {.statuses = {500, 200}, .n = 2};
    peer_start(&p);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", p.port);

    Helpdesk__V1__SlaAction act = HELPDESK__V1__SLA_ACTION__INIT;
    Helpdesk__V1__SlaAction *acts[] = {&act};
    act.kind = HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_WEBHOOK;
    act.on_breach = 1;
    act.webhook_url = url;
    Helpdesk__V1__SlaPolicy pol = HELPDESK__V1__SLA_POLICY__INIT;
    pol.n_actions = 1;
    pol.actions = acts;
    hd_sla_ticket t = {.ticket_id = 5};
    hd_sla_fired f = {1, 1, 1, 1000};
    int64_t now = 1767571200000LL;
    run_arg r = {&pol, &t, &f, now, 0};
    assert_int_equal(hd_store_write(s, run_apply, &r, &err), 0);
    assert_int_equal(r.ran, 1);
    assert_int_equal(hd_store_write(s, run_apply, &r, &err), 0);
    assert_int_equal(r.ran, 0); /* deduplicated */

    int sent = -1, failed = -1;
    assert_int_equal(hd_sla_webhook_step(s, now, &sent, &failed, &err), 0);
    assert_int_equal(sent, 0);
    assert_int_equal(failed, 1);
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__SlaDelivery *d = delivery(s, a);
    assert_int_equal(d->attempts, 1);
    assert_int_equal(d->delivered, 0);
    assert_string_equal(d->last_error, "HTTP 500");
    assert_int_equal(d->next_attempt_time->seconds, now / 1000 + 30);
    assert_non_null(strstr(p.last_body, "\"text\""));

    assert_int_equal(hd_sla_webhook_step(s, now + 29000, &sent, &failed, &err), 0);
    assert_int_equal(sent + failed, 0); /* still backing off */
    assert_int_equal(hd_sla_webhook_step(s, now + 30000, &sent, &failed, &err), 0);
    assert_int_equal(sent, 1);
    d = delivery(s, a);
    assert_int_equal(d->attempts, 2);
    assert_int_equal(d->delivered, 1);
    assert_int_equal(hd_sla_webhook_step(s, now + 99000, &sent, &failed, &err), 0);
    assert_int_equal(sent + failed, 0);

    pthread_join(p.th, NULL);
    close(p.fd);
    hd_arena_destroy(a);
    hd_store_close(s);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void email_action_queues_one_outbox_notification_per_firing(void **state)
{
    (void)state;
    char dir[256];
    const char *base = getenv("TEST_TMPDIR");
    snprintf(dir, sizeof(dir), "%s/emXXXXXX", base ? base : "/tmp");
    assert_non_null(mkdtemp(dir));
    hd_store *s = NULL;
    hd_store_opts o = {.path = dir, .unsafe_nosync = 1};
    hd_err err;
    assert_int_equal(hd_store_open(&s, &o, &err), 0);
    Helpdesk__V1__SlaAction act = HELPDESK__V1__SLA_ACTION__INIT;
    Helpdesk__V1__SlaAction *acts[] = {&act};
    act.kind = HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_EMAIL;
    act.on_warning = 1;
    act.email_to = (char *)"lead@example.com";
    Helpdesk__V1__SlaPolicy pol = HELPDESK__V1__SLA_POLICY__INIT;
    pol.n_actions = 1;
    pol.actions = acts;
    hd_sla_ticket t = {.ticket_id = 8};
    hd_sla_fired warn = {2, 0, 3, 1000}, breach = {2, 1, 3, 2000};
    run_arg r = {&pol, &t, &warn, 1767571200000LL, 0};
    assert_int_equal(hd_store_write(s, run_apply, &r, &err), 0);
    assert_int_equal(r.ran, 1);
    assert_int_equal(hd_store_write(s, run_apply, &r, &err), 0);
    assert_int_equal(r.ran, 0); /* once per ticket, target, run and event */
    r.f = &breach;
    assert_int_equal(hd_store_write(s, run_apply, &r, &err), 0);
    assert_int_equal(r.ran, 0); /* the action is for warnings only */
    hd_txn *rt;
    uint64_t n = 0;
    assert_int_equal(hd_store_read_begin(s, &rt, &err), 0);
    assert_int_equal(hd_store_count(rt, HD_STORE_OUTBOX, &n, &err), 0);
    assert_int_equal(n, 1);
    hd_key k;
    hd_key_init(&k);
    hd_key_u64(&k, 1);
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__OutboxMessage *m = NULL;
    assert_int_equal(hd_store_get_msg(rt, HD_STORE_OUTBOX, &k,
                                      &helpdesk__v1__outbox_message__descriptor, a,
                                      (ProtobufCMessage **)&m, &err),
                     0);
    hd_store_read_end(rt);
    assert_int_equal(m->kind, HELPDESK__V1__OUTBOX_KIND__OUTBOX_KIND_NOTIFICATION);
    assert_string_equal(m->to[0], "lead@example.com");
    assert_non_null(strstr(m->subject, "next response"));
    hd_arena_destroy(a);
    hd_store_close(s);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_webhook_is_visible_then_retried_after_backoff_and_delivered),
        cmocka_unit_test(email_action_queues_one_outbox_notification_per_firing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
