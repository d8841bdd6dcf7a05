/* Schedule bookkeeping. The state file has one "name last_run_s" line per schedule plus a
 * "@first_seen first_start_s" line. */
#include "reporter/schedule.h"

#include "reporter/localtz.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_MAX 256

struct hd_schedule_state {
    char path[HD_CONFIG_VALUE_MAX];
    char names[STATE_MAX][HD_CONFIG_NAME_MAX];
    int64_t runs[STATE_MAX];
    int n;
};

int hd_schedule_state_load(hd_schedule_state **out, const char *path, hd_err *err)
{
    *out = NULL;
    hd_schedule_state *st = calloc(1, sizeof *st);
    if (!st)
        return hd_err_set(err, HD_ENOMEM, "out of memory");
    snprintf(st->path, sizeof st->path, "%s", path);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) {
            *out = st;
            return 0;
        }
        free(st);
        return hd_err_set(err, HD_EIO, "%s: %s", path, strerror(errno));
    }
    char line[256];
    int ln = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char name[HD_CONFIG_NAME_MAX];
        int64_t t;
        if (sscanf(line, "%63s %" SCNd64, name, &t) != 2 || st->n == STATE_MAX) {
            rc = hd_err_set(err, HD_ECORRUPT, "%s:%d: expected \"name unix_seconds\"", path, ln);
            break;
        }
        snprintf(st->names[st->n], HD_CONFIG_NAME_MAX, "%s", name);
        st->runs[st->n++] = t;
    }
    fclose(f);
    if (rc) {
        free(st);
        return rc;
    }
    *out = st;
    return 0;
}

int64_t hd_schedule_last_run(const hd_schedule_state *st, const char *name)
{
    for (int i = 0; i < st->n; i++)
        if (!strcmp(st->names[i], name))
            return st->runs[i];
    return 0;
}

int hd_schedule_record(hd_schedule_state *st, const char *name, int64_t run_s, hd_err *err)
{
    int i = 0;
    while (i < st->n && strcmp(st->names[i], name))
        i++;
    if (i == st->n) {
        if (st->n == STATE_MAX)
            return hd_err_set(err, HD_EFULL, "state: too many schedules");
        snprintf(st->names[st->n++], HD_CONFIG_NAME_MAX, "%s", name);
    }
    st->runs[i] = run_s;
    char tmp[HD_CONFIG_VALUE_MAX + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", st->path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return hd_err_set(err, HD_EIO, "%s: %s", tmp, strerror(errno));
    for (int k = 0; k < st->n; k++)
        fprintf(f, "%s %" PRId64 "\n", st->names[k], st->runs[k]);
    int bad = fflush(f) || fsync(fileno(f));
    bad |= fclose(f);
    if (bad || rename(tmp, st->path)) {
        unlink(tmp);
        return hd_err_set(err, HD_EIO, "%s: cannot write state", st->path);
    }
    return 0;
}

void hd_schedule_state_free(hd_schedule_state *st)
{
    free(st);
}

int hd_schedule_due(int64_t *due_s, const hd_cron *c, const char *zone, int64_t last_run_s,
                    int64_t first_seen_s, int64_t now_s, hd_err *err)
{
    int64_t from = last_run_s ? last_run_s : first_seen_s;
    /* Only the latest missed run matters: start the walk at most a year back. */
    if (now_s - from > 366LL * 86400)
        from = now_s - 366LL * 86400;
    int64_t t = from, found = 0;
    for (int i = 0; i < 600000; i++) {
        int64_t next;
        int rc = hd_cron_next(&next, c, zone, t, err);
        if (rc == HD_ENOTFOUND)
            break;
        if (rc)
            return rc;
        if (next > now_s)
            break;
        found = next;
        t = next;
    }
    if (!found)
        return 0;
    *due_s = found;
    return 1;
}

static void local_str(char *buf, size_t n, const char *zone, int64_t t)
{
    hd_localtm lt;
    if (hd_localtz_from_unix(&lt, zone, t))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", lt.year, lt.mon, lt.mday, lt.hour, lt.min);
}

int hd_schedule_print(FILE *f, const hd_config *cfg, int64_t now_s, hd_err *err)
{
    hd_schedule_state *st;
    int rc = hd_schedule_state_load(&st, cfg->state_file, err);
    if (rc)
        return rc;
    fprintf(f, "%-20s %-20s %-18s %-16s %-17s %s\n", "SCHEDULE", "REPORT", "CRON", "TZ", "NEXT RUN",
            "LAST RUN");
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        const hd_config_schedule *s = &cfg->schedules[i];
        hd_cron c;
        int64_t next = 0;
        char nb[40] = "-", lb[40] = "never";
        if (!hd_cron_parse(&c, s->cron, err) && !hd_cron_next(&next, &c, s->tz, now_s, err))
            local_str(nb, sizeof nb, s->tz, next);
        int64_t last = hd_schedule_last_run(st, s->name);
        if (last)
            local_str(lb, sizeof lb, s->tz, last);
        fprintf(f, "%-20s %-20s %-18s %-16s %-17s %s\n", s->name, s->report, s->cron, s->tz, nb,
                lb);
    }
    hd_schedule_state_free(st);
    return 0;
}
