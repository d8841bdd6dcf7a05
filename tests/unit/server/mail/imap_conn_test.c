/* The IMAP session over libcurl's CONNECT_ONLY connection, against a scripted IMAP server on
 * 127.0.0.1 (a thread): libcurl logs in, then our commands and the server's responses
 * (written a few bytes at a time) go through the session. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/mail/imap_conn.h"

typedef struct fake {
    int lfd;
    int port;
    bool close_mid_fetch; /* drop the connection halfway through a FETCH reply */
    bool saw_login;       /* a LOGIN (credentials) arrived */
    bool idle;            /* offer IDLE */
    bool idle_news;       /* during IDLE, report a new message after 50 ms */
    bool idle_done_ok;    /* IDLE ended by the client's DONE */
    pthread_t th;
} fake;

static const char body1[] = "From: a@example.com\r\nSubject: one\r\n\r\nfirst {5}\r\n";

static void put(int fd, const char *s)
{
    size_t n = strlen(s);
    /* small writes so the client sees responses split across reads */
    for (size_t i = 0; i < n; i += 7) {
        size_t k = n - i < 7 ? n - i : 7;
        if (write(fd, s + i, k) < 0)
            return;
    }
}

/* Reads one line (without CRLF) into line; returns false at EOF. */
static bool get_line(int fd, char *line, size_t cap)
{
    size_t n = 0;
    char ch;
    while (n + 1 < cap) {
        if (read(fd, &ch, 1) != 1)
            return false;
        if (ch == '\n')
            break;
        if (ch != '\r')
            line[n++] = ch;
    }
    line[n] = '\0';
    return true;
}

static void *serve(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    char line[1024], out[2048];
    if (fd < 0)
        return NULL;
    put(fd, "* OK [CAPABILITY IMAP4rev1] fake ready\r\n");
    while (get_line(fd, line, sizeof line)) {
        char tag[32] = "", verb[64] = "";
        if (sscanf(line, "%31s %63s", tag, verb) != 2)
            break;
        const char *rest = line + strlen(tag) + 1;
        if (strcmp(verb, "CAPABILITY") == 0) {
            snprintf(out, sizeof out, "* CAPABILITY IMAP4rev1 LITERAL+%s\r\n%s OK done\r\n",
                     f->idle ? " IDLE" : "", tag);
        } else if (strcmp(verb, "IDLE") == 0) {
            put(fd, "+ idling\r\n");
            if (f->idle_news) {
                usleep(50 * 1000);
                put(fd, "* 1 EXPUNGE\r\n* 3 EXISTS\r\n");
            }
            if (!get_line(fd, line, sizeof line))
                break;
            f->idle_done_ok = strcmp(line, "DONE") == 0;
            snprintf(out, sizeof out, "%s OK Idle completed\r\n", tag);
        } else if (strcmp(verb, "LOGIN") == 0) {
            f->saw_login = true;
            snprintf(out, sizeof out, "%s %s\r\n", tag,
                     strstr(rest, "\"pw\"") || strstr(rest, " pw")
                         ? "OK Logged in"
                         : "NO [AUTHENTICATIONFAILED] no");
        } else if (strcmp(verb, "SELECT") == 0) {
            snprintf(out, sizeof out,
                     "* 2 EXISTS\r\n* OK [UIDVALIDITY 42] v\r\n* OK [UIDNEXT 9] n\r\n"
                     "%s OK [READ-WRITE] Select completed\r\n",
                     tag);
        } else if (strcmp(verb, "UID") == 0 && strstr(rest, "BODY.PEEK[]")) {
            if (f->close_mid_fetch) {
                put(fd, "* 1 FETCH (UID 7 BODY[] {400}\r\nFrom: x");
                break;
            }
            snprintf(
                out, sizeof out,
                "* 1 FETCH (UID 7 BODY[] {%zu}\r\n%s)\r\n* 2 FETCH (UID 8 BODY[] {2}\r\nhi)\r\n"
                "%s OK Fetch completed\r\n",
                strlen(body1), body1, tag);
        } else if (strcmp(verb, "UID") == 0) {
            snprintf(out, sizeof out, "%s NO [SERVERBUG] nope\r\n", tag);
        } else if (strcmp(verb, "LOGOUT") == 0) {
            snprintf(out, sizeof out, "* BYE bye\r\n%s OK done\r\n", tag);
            put(fd, out);
            break;
        } else {
            snprintf(out, sizeof out, "%s BAD unknown\r\n", tag);
        }
        put(fd, out);
    }
    close(fd);
    return NULL;
}

static void fake_start(fake *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 1), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->th, NULL);
    close(f->lfd);
}

typedef struct got {
    uint32_t uidvalidity, exists;
    uint32_t uids[4];
    size_t bodies[4];
    int n;
    bool body1_ok;
} got;

static int collect(void *ud, const hd_imap_resp *r, hd_err *err)
{
    (void)err;
    got *g = ud;
    if (r->has_uidvalidity)
        g->uidvalidity = r->uidvalidity;
    if (r->data == HD_IMAP_DATA_EXISTS)
        g->exists = r->number;
    if (r->data == HD_IMAP_DATA_FETCH && g->n < 4) {
        g->uids[g->n] = r->uid;
        g->bodies[g->n] = r->body_len;
        if (r->uid == 7)
            g->body1_ok = r->body_len == strlen(body1) && memcmp(r->body, body1, r->body_len) == 0;
        g->n++;
    }
    return 0;
}

static hd_imap_conf conf_for(const fake *f, char *url, size_t cap, const char *password)
{
    snprintf(url, cap, "imap://127.0.0.1:%d", f->port);
    return (hd_imap_conf){.url = url, .username = "u", .password = password, .timeout_ms = 5000};
}

static void login_select_and_batched_peek_fetch_over_libcurls_connection(void **state)
{
    (void)state;
    fake f = {0};
    char url[64], tag[16];
    hd_err err;
    hd_imap_conn *c = NULL;
    got g = {0};
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), 0);
    assert_int_equal(hd_imap_conn_cmd(c, "SELECT \"INBOX\"", tag, &err), 0);
    assert_int_equal(hd_imap_conn_wait(c, tag, collect, &g, &err), 0);
    assert_int_equal(g.uidvalidity, 42);
    assert_int_equal(g.exists, 2);
    assert_int_equal(hd_imap_conn_cmd(c, "UID FETCH 7:8 (UID BODY.PEEK[])", tag, &err), 0);
    assert_int_equal(hd_imap_conn_wait(c, tag, collect, &g, &err), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.uids[0], 7);
    assert_true(g.body1_ok);
    assert_int_equal(g.uids[1], 8);
    assert_int_equal(g.bodies[1], 2);
    hd_imap_conn_close(c);
    fake_stop(&f);
}

static void refused_login_is_eperm(void **state)
{
    (void)state;
    fake f = {0};
    char url[64];
    hd_err err;
    hd_imap_conn *c = NULL;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "wrong");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), HD_EPERM);
    assert_null(c);
    fake_stop(&f);
}

static void tagged_no_is_eperm_with_the_servers_text(void **state)
{
    (void)state;
    fake f = {0};
    char url[64], tag[16];
    hd_err err;
    hd_imap_conn *c = NULL;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), 0);
    assert_int_equal(hd_imap_conn_cmd(c, "UID STORE 1 +FLAGS.SILENT (\\Seen)", tag, &err), 0);
    assert_int_equal(hd_imap_conn_wait(c, tag, NULL, NULL, &err), HD_EPERM);
    assert_non_null(strstr(err.detail, "nope"));
    assert_int_equal(hd_imap_conn_cmd(c, "NOOP\r\nA1 LOGOUT", tag, &err), HD_EINVAL);
    hd_imap_conn_close(c);
    fake_stop(&f);
}

static void connection_dropped_mid_literal_is_eunavail(void **state)
{
    (void)state;
    fake f = {.close_mid_fetch = true};
    char url[64], tag[16];
    hd_err err;
    hd_imap_conn *c = NULL;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), 0);
    assert_int_equal(hd_imap_conn_cmd(c, "UID FETCH 7 (UID BODY.PEEK[])", tag, &err), 0);
    assert_int_equal(hd_imap_conn_wait(c, tag, NULL, NULL, &err), HD_EUNAVAIL);
    hd_imap_conn_close(c);
    fake_stop(&f);
}

/* The fake offers no STARTTLS: a mailbox that requires TLS must stop before LOGIN. */
static void tls_required_without_starttls_is_refused_before_any_credentials(void **state)
{
    (void)state;
    fake f = {0};
    char url[64];
    hd_err err;
    hd_imap_conn *c = NULL;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    conf.tls = true;
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), HD_EUNAVAIL);
    assert_null(c);
    assert_non_null(strstr(err.detail, "offers no STARTTLS"));
    fake_stop(&f);
    assert_false(f.saw_login);
}

static void select_reports_uidvalidity_uidnext_exists_and_refuses_bad_names(void **state)
{
    (void)state;
    fake f = {0};
    char url[64];
    hd_err err;
    hd_imap_conn *c = NULL;
    hd_imap_select s;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), 0);
    assert_int_equal(hd_imap_conn_select(c, "In\"box", &s, &err), HD_EINVAL);
    assert_non_null(strstr(err.detail, "folder"));
    assert_int_equal(hd_imap_conn_select(c, "", &s, &err), HD_EINVAL);
    assert_int_equal(hd_imap_conn_select(c, "INBOX", &s, &err), 0);
    assert_int_equal(s.uidvalidity, 42);
    assert_int_equal(s.uidnext, 9);
    assert_int_equal(s.exists, 2);
    hd_imap_conn_close(c);
    fake_stop(&f);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool stop_now(void *ud)
{
    return *(bool *)ud;
}

/* IDLE returns as soon as the server reports new mail (EXPUNGE alone is no news), ends with
 * DONE, and leaves the session usable. */
static void idle_returns_on_new_mail_and_the_session_goes_on(void **state)
{
    (void)state;
    fake f = {.idle = true, .idle_news = true};
    char url[64];
    hd_err err;
    hd_imap_conn *c = NULL;
    hd_imap_select s;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), 0);
    assert_true(hd_imap_conn_has_idle(c));
    assert_int_equal(hd_imap_conn_select(c, "INBOX", &s, &err), 0);
    int64_t t0 = now_ms();
    assert_int_equal(hd_imap_conn_idle(c, 5000, NULL, NULL, &err), 1);
    assert_true(now_ms() - t0 < 4000);
    assert_int_equal(hd_imap_conn_select(c, "INBOX", &s, &err), 0);
    assert_int_equal(s.uidvalidity, 42);
    hd_imap_conn_close(c);
    fake_stop(&f);
    assert_true(f.idle_done_ok);
}

static void idle_without_news_ends_after_max_ms_or_when_stopped(void **state)
{
    (void)state;
    fake f = {.idle = true};
    char url[64];
    hd_err err;
    hd_imap_conn *c = NULL;
    bool stop = false;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), 0);
    int64_t t0 = now_ms();
    assert_int_equal(hd_imap_conn_idle(c, 300, stop_now, &stop, &err), 0);
    assert_true(now_ms() - t0 >= 300);
    assert_true(f.idle_done_ok);
    stop = true;
    assert_int_equal(hd_imap_conn_idle(c, 60000, stop_now, &stop, &err), HD_ECANCELED);
    hd_imap_conn_close(c);
    fake_stop(&f);
}

static void idle_is_refused_when_the_server_does_not_offer_it(void **state)
{
    (void)state;
    fake f = {0};
    char url[64];
    hd_err err;
    hd_imap_conn *c = NULL;
    fake_start(&f);
    hd_imap_conf conf = conf_for(&f, url, sizeof url, "pw");
    assert_int_equal(hd_imap_conn_open(&c, &conf, 0, NULL, NULL, &err), 0);
    assert_false(hd_imap_conn_has_idle(c));
    assert_int_equal(hd_imap_conn_idle(c, 100, NULL, NULL, &err), HD_EINVAL);
    hd_imap_conn_close(c);
    fake_stop(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_returns_on_new_mail_and_the_session_goes_on),
        cmocka_unit_test(idle_without_news_ends_after_max_ms_or_when_stopped),
        cmocka_unit_test(idle_is_refused_when_the_server_does_not_offer_it),
        cmocka_unit_test(tls_required_without_starttls_is_refused_before_any_credentials),
        cmocka_unit_test(select_reports_uidvalidity_uidnext_exists_and_refuses_bad_names),
        cmocka_unit_test(login_select_and_batched_peek_fetch_over_libcurls_connection),
        cmocka_unit_test(refused_login_is_eperm),
        cmocka_unit_test(tagged_no_is_eperm_with_the_servers_text),
        cmocka_unit_test(connection_dropped_mid_literal_is_eunavail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
