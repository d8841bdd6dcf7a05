/* Nothing acknowledged is lost: a child process writes through hd_store_write from several
 * threads (durable mode, map starting at 64 KiB so growth happens between kills) and
 * reports each acknowledged key on a pipe; the parent kills it with SIGKILL at a random
 * point, reopens the store and checks every acknowledged key. Repeated on one data dir. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/store/store.h"
#include "tests/unit/server/store/testutil.h"

enum { CHILD_THREADS = 8, ROUNDS = 5, MAX_ACKS = 200000 };

typedef struct child_ctx {
    hd_store *s;
    int fd;
    uint64_t base;
} child_ctx;

static int apply_row(hd_txn *txn, void *arg, hd_err *err)
{
    uint64_t key = *(uint64_t *)arg;
    unsigned char v[200];
    memset(v, (int)(key & 0xFF), sizeof(v));
    hd_key k;
    hd_key_init(&k);
    hd_key_u64(&k, key);
    return hd_store_put(txn, HD_STORE_EVENTS, &k, v, sizeof(v), 0, err);
}

static void *child_writer(void *arg)
{
    child_ctx *c = arg;
    /* Bounded: the parent kills us long before this runs out. */
    for (uint64_t i = 0; i < 1000000; i++) {
        uint64_t key = c->base + i;
        hd_err err = {0};
        if (hd_store_write(c->s, apply_row, &key, &err) != 0)
            _exit(5);
        /* 8-byte writes to a pipe are atomic (< PIPE_BUF). */
        if (write(c->fd, &key, sizeof(key)) != (ssize_t)sizeof(key))
            _exit(6);
    }
    return NULL;
}

static int run_child(const char *dir, int fd, int round)
{
    hd_store_opts o = {.path = dir, .map_start = 64 << 10};
    hd_store *s = NULL;
    hd_err err = {0};
    if (hd_store_open(&s, &o, &err) != 0)
        return 3;
    child_ctx c[CHILD_THREADS];
    pthread_t th[CHILD_THREADS];
    for (int i = 0; i < CHILD_THREADS; i++) {
        c[i] = (child_ctx){s, fd, ((uint64_t)round << 40) | ((uint64_t)i << 32)};
        pthread_create(&th[i], NULL, child_writer, &c[i]);
    }
    for (int i = 0; i < CHILD_THREADS; i++)
        pthread_join(th[i], NULL);
    return 0;
}

static int key_present(hd_store *s, uint64_t key)
{
    hd_txn *txn;
    hd_err err = {0};
    hd_key k;
    const void *p;
    size_t n;
    if (hd_store_read_begin(s, &txn, &err) != 0)
        return 0;
    hd_key_init(&k);
    hd_key_u64(&k, key);
    int ok = hd_store_get(txn, HD_STORE_EVENTS, &k, &p, &n, &err) == 0 && n == 200 &&
             ((const unsigned char *)p)[199] == (key & 0xFF);
    hd_store_read_end(txn);
    return ok;
}

static void sigkill_during_writes_loses_no_acknowledged_write(void **state)
{
    (void)state;
    char *dir = st_tmpdir("kill");
    static uint64_t acks[MAX_ACKS];
    uint64_t seed = 0x853c49e6748fea9bull;
    size_t total = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        char fdarg[16], roundarg[16];
        snprintf(fdarg, sizeof(fdarg), "%d", fds[1]);
        snprintf(roundarg, sizeof(roundarg), "%d", round);
        char *const argv[] = {
            (char *)"durability_test", (char *)"--child", dir, fdarg, roundarg, NULL};
        pid_t pid;
        assert_int_equal(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ), 0);
        close(fds[1]);
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        size_t kill_after = 50 + seed % 400, got = 0;
        uint64_t key;
        /* Read acknowledgements until the random kill point (bounded by the child's own
         * bound and EOF if it dies). */
        while (got < kill_after && read(fds[0], &key, sizeof(key)) == (ssize_t)sizeof(key)) {
            assert_true(total < MAX_ACKS);
            acks[total++] = key;
            got++;
        }
        kill(pid, SIGKILL);
        /* Acknowledgements already in the pipe count too. */
        while (read(fds[0], &key, sizeof(key)) == (ssize_t)sizeof(key)) {
            assert_true(total < MAX_ACKS);
            acks[total++] = key;
        }
        close(fds[0]);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFSIGNALED(status))
            fail_msg("round %d: child exited with %d before the kill", round,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        assert_true(got >= 50);

        hd_store *s = st_open(dir, 64 << 10, 0);
        for (size_t i = 0; i < total; i++)
            if (!key_present(s, acks[i]))
                fail_msg("round %d: acknowledged key %llx missing after SIGKILL", round,
                         (unsigned long long)acks[i]);
        hd_store_close(s);
    }
    print_message("  %zu acknowledged writes over %d SIGKILLs, none lost\n", total, ROUNDS);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--child") == 0)
        return run_child(argv[2], atoi(argv[3]), atoi(argv[4]));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigkill_during_writes_loses_no_acknowledged_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
