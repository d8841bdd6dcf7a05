/* The error table, arenas and log formatting. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/common/log.h"
#include "server/common/worker.h"

static void every_error_code_has_a_distinct_name_and_message(void **state)
{
    (void)state;
    static const int codes[] = {
#define HD__CODE(name, value, msg) name,
        HD_ERRNO_MAP(HD__CODE)
#undef HD__CODE
    };
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(hd_strerror(codes[i]), "unknown error");
        assert_string_not_equal(hd_errname(codes[i]), "HD_EUNKNOWN");
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(hd_errname(codes[i]), hd_errname(codes[j]));
        }
    }
    assert_string_equal(hd_strerror(HD_OK), "ok");
    assert_string_equal(hd_strerror(-9999), "unknown error");
    assert_string_equal(hd_errname(HD_ENOTFOUND), "HD_ENOTFOUND");
}

static void err_set_keeps_detail_and_returns_the_code(void **state)
{
    (void)state;
    hd_err e;
    hd_err_clear(&e);
    assert_int_equal(hd_err_set(&e, HD_EINVAL, "subject: longer than %d characters", 998),
                     HD_EINVAL);
    assert_int_equal(e.code, HD_EINVAL);
    assert_string_equal(e.detail, "subject: longer than 998 characters");
    assert_int_equal(hd_err_set(NULL, HD_EIO, "ignored"), HD_EIO);
    char big[600];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    hd_err_set(&e, HD_EINVAL, "%s", big);
    assert_int_equal(strlen(e.detail), HD_ERR_DETAIL_MAX - 1);
    hd_err_clear(&e);
    assert_int_equal(e.code, HD_OK);
    assert_string_equal(e.detail, "");
}

static void arena_allocations_are_aligned_distinct_and_survive_growth(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(64);
    assert_non_null(a);
    char *prev[200];
    for (int i = 0; i < 200; i++) {
        prev[i] = hd_arena_alloc(a, (size_t)(i % 37) + 1);
        assert_non_null(prev[i]);
        assert_int_equal((uintptr_t)prev[i] % 16, 0);
        memset(prev[i], i, (size_t)(i % 37) + 1);
    }
    for (int i = 0; i < 200; i++)
        for (int k = 0; k < (i % 37) + 1; k++)
            assert_int_equal((unsigned char)prev[i][k], (unsigned char)i);
    void *big = hd_arena_alloc(a, 1 << 20);
    assert_non_null(big);
    memset(big, 0xab, 1 << 20);
    assert_non_null(hd_arena_alloc(a, 0));
    assert_null(hd_arena_calloc(a, SIZE_MAX / 2, 4));
    char *s = hd_arena_printf(a, "TKT-%06u", 42u);
    assert_string_equal(s, "TKT-000042");
    assert_string_equal(hd_arena_strndup(a, "abcdef", 3), "abc");
    assert_null(hd_arena_strdup(a, NULL));
    hd_arena_reset(a);
    assert_int_equal(hd_arena_used(a), 0);
    assert_non_null(hd_arena_alloc(a, 32));
    hd_arena_destroy(a);
    hd_arena_destroy(NULL);
}

static void arena_grow_doubles_keeps_the_elements_and_refuses_overflow(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    for (uint64_t i = 0; i < 100; i++) {
        uint64_t *g = hd_arena_grow(a, v, n, &cap, sizeof(*v), 4);
        assert_non_null(g);
        if (n < 4)
            assert_int_equal(cap, 4);
        v = g;
        v[n++] = i * 3;
    }
    assert_int_equal(cap, 128); /* 4, 8, ..., 128 */
    for (uint64_t i = 0; i < 100; i++)
        assert_int_equal(v[i], i * 3);
    assert_ptr_equal(hd_arena_grow(a, v, 100, &cap, sizeof(*v), 4), v); /* room left */
    size_t huge = SIZE_MAX / 4;
    assert_null(hd_arena_grow(a, v, huge, &huge, 16, 4)); /* size overflows */
    assert_int_equal(huge, SIZE_MAX / 4);
    size_t zero = 0;
    assert_null(hd_arena_grow(a, NULL, 0, &zero, 8, 0)); /* no first capacity */
    hd_arena_destroy(a);
}

typedef struct spin {
    hd_worker w;
    int loops;
} spin;

/* A worker loop as the SLA threads write it: one round, then a long wait on w.cv. */
static void *spin_main(void *arg)
{
    spin *s = arg;
    pthread_mutex_lock(&s->w.mu);
    while (!s->w.stop) {
        s->loops++;
        pthread_cond_broadcast(&s->w.cv); /* tells the test a round ran */
        struct timespec ts;
        hd_worker_deadline(&ts, 60000);
        while (!s->w.stop)
            if (pthread_cond_timedwait(&s->w.cv, &s->w.mu, &ts) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&s->w.mu);
    return NULL;
}

static double mono_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void worker_stop_wakes_a_waiting_loop_and_joins_it(void **state)
{
    (void)state;
    spin s;
    hd_err err;
    struct timespec ts;
    memset(&s, 0, sizeof(s));
    assert_int_equal(hd_worker_start(&s.w, spin_main, &s, "spin", &err), 0);
    pthread_mutex_lock(&s.w.mu);
    hd_worker_deadline(&ts, 10000);
    while (s.loops == 0)
        if (pthread_cond_timedwait(&s.w.cv, &s.w.mu, &ts) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&s.w.mu);
    assert_int_equal(s.loops, 1);
    double t0 = mono_now_ms();
    hd_worker_stop(&s.w); /* the loop waits 60 s unless stop wakes it */
    assert_true(mono_now_ms() - t0 < 10000);
    assert_int_equal(s.loops, 1);
}

static void worker_deadline_is_wait_ms_ahead_with_normalised_nanoseconds(void **state)
{
    (void)state;
    struct timespec now, ts;
    for (int64_t ms = 0; ms < 3000; ms += 499) {
        clock_gettime(CLOCK_REALTIME, &now);
        hd_worker_deadline(&ts, ms);
        assert_true(ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
        double ahead = (double)(ts.tv_sec - now.tv_sec) * 1e3 + (ts.tv_nsec - now.tv_nsec) / 1e6;
        assert_true(ahead >= (double)ms);
        assert_true(ahead < (double)ms + 1000);
    }
}

static void arena_pb_allocator_unpacks_without_free(void **state)
{
    (void)state;
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    req.id = 7;
    req.number = (char *)"TKT-000007";
    uint8_t buf[64];
    size_t n = helpdesk__v1__get_ticket_request__pack(&req, buf);
    hd_arena *a = hd_arena_create(0);
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(a, &pa);
    Helpdesk__V1__GetTicketRequest *got = helpdesk__v1__get_ticket_request__unpack(&pa, n, buf);
    assert_non_null(got);
    assert_int_equal(got->id, 7);
    assert_string_equal(got->number, "TKT-000007");
    assert_true(hd_arena_used(a) > 0);
    hd_arena_destroy(a); /* frees the message too; LSan would report otherwise */
}

static void log_lines_are_key_value_and_quoted(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(hd_log_quote(buf, sizeof(buf), "plain"), "plain");
    assert_string_equal(hd_log_quote(buf, sizeof(buf), "two words"), "\"two words\"");
    assert_string_equal(hd_log_quote(buf, sizeof(buf), "a\"b\n"), "\"a\\\"b\\x0a\"");
    assert_string_equal(hd_log_quote(buf, sizeof(buf), ""), "\"\"");
    hd_log_level lv;
    assert_int_equal(hd_log_parse_level("WARN", &lv), HD_OK);
    assert_int_equal(lv, HD_LOG_WARN);
    assert_int_equal(hd_log_parse_level("loud", &lv), HD_EINVAL);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    hd_log_set_fd(fds[1]);
    hd_log_set_level(HD_LOG_INFO);
    hd_log(HD_LOG_DEBUG, "hidden", "x=1");
    hd_log(HD_LOG_WARN, "rpc", "method=%s status=%d", "/a/B", 5);
    hd_log_set_fd(2);
    close(fds[1]);
    char line[512] = {0};
    ssize_t r = read(fds[0], line, sizeof(line) - 1);
    close(fds[0]);
    assert_true(r > 0);
    assert_non_null(strstr(line, " level=warn event=rpc method=/a/B status=5\n"));
    assert_null(strstr(line, "hidden"));
    assert_int_equal(strncmp(line, "ts=", 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_error_code_has_a_distinct_name_and_message),
        cmocka_unit_test(err_set_keeps_detail_and_returns_the_code),
        cmocka_unit_test(arena_allocations_are_aligned_distinct_and_survive_growth),
        cmocka_unit_test(arena_grow_doubles_keeps_the_elements_and_refuses_overflow),
        cmocka_unit_test(arena_pb_allocator_unpacks_without_free),
        cmocka_unit_test(worker_stop_wakes_a_waiting_loop_and_joins_it),
        cmocka_unit_test(worker_deadline_is_wait_ms_ahead_with_normalised_nanoseconds),
        cmocka_unit_test(log_lines_are_key_value_and_quoted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
