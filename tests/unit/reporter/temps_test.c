/* Temporaries of killed runs: the sweep removes those of dead processes only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "reporter/temps.h"

static void touch(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("x", f);
    fclose(f);
}

static int exists(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* A pid that certainly ended: a child that exited and was reaped. */
static long dead_pid(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0)
        _exit(0);
    int st;
    assert_int_equal(waitpid(p, &st, 0), p);
    return (long)p;
}

static void temp_names_give_their_pid(void **state)
{
    (void)state;
    assert_int_equal(hd_temps_pid("weekly-2026-11-23-0800.xlsx.tmp-4242"), 4242);
    assert_int_equal(hd_temps_pid("state.tmp-7"), 7);
    assert_int_equal(hd_temps_pid("a.tmp-1.tmp-99"), 99);
    assert_int_equal(hd_temps_pid("weekly.xlsx"), 0);
    assert_int_equal(hd_temps_pid("x.tmp-"), 0);
    assert_int_equal(hd_temps_pid("x.tmp-12a"), 0);
    assert_int_equal(hd_temps_pid(".tmp-12"), 0);
}

static void sweep_removes_temporaries_of_dead_processes_only(void **state)
{
    (void)state;
    char dir[] = "/tmp/hd-temps-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char dead[64], live[64], parent[64];
    snprintf(dead, sizeof dead, "weekly.xlsx.tmp-%ld", dead_pid());
    snprintf(live, sizeof live, "weekly.csv.tmp-%ld", (long)getpid());
    snprintf(parent, sizeof parent, "state.tmp-%ld", (long)getppid());
    touch(dir, dead);
    touch(dir, live);
    touch(dir, parent);
    touch(dir, "weekly.xlsx");
    int removed = -1;
    hd_err err = {0};
    assert_int_equal(hd_temps_sweep(dir, &removed, &err), HD_OK);
    assert_int_equal(removed, 1);
    assert_false(exists(dir, dead));
    assert_true(exists(dir, live));   /* this process: still writing */
    assert_true(exists(dir, parent)); /* another live process */
    assert_true(exists(dir, "weekly.xlsx"));
    char path[512];
    const char *left[] = {live, parent, "weekly.xlsx"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, left[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void sweep_of_a_missing_dir_is_not_an_error(void **state)
{
    (void)state;
    int removed = -1;
    hd_err err = {0};
    assert_int_equal(hd_temps_sweep("/tmp/hd-temps-does-not-exist/x", &removed, &err), HD_OK);
    assert_int_equal(removed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(temp_names_give_their_pid),
        cmocka_unit_test(sweep_removes_temporaries_of_dead_processes_only),
        cmocka_unit_test(sweep_of_a_missing_dir_is_not_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
