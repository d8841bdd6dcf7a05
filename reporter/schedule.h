/* Schedules: when each configured report is due, and the last run of every schedule
 * persisted in a small state file (written to a temp name and renamed), so that after
 * downtime each schedule makes its missed run exactly once (the latest one missed), and a
 * restart never repeats a run. */
#ifndef HD_REPORTER_SCHEDULE_H
#define HD_REPORTER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "reporter/config.h"
#include "reporter/cron.h"
#include "server/common/err.h"

typedef struct hd_schedule_state hd_schedule_state;

/* Loads the state file (missing file = empty state). Returns an owned state
 * (hd_schedule_state_free) in *out; HD_ECORRUPT with the line, HD_EIO, HD_ENOMEM. */
int hd_schedule_state_load(hd_schedule_state **out, const char *path, hd_err *err);

/* Last run (scheduled time, Unix s) of the named schedule; 0 when it never ran. */
int64_t hd_schedule_last_run(const hd_schedule_state *st, const char *name);

/* Records a run and writes the whole state to its file (temp + rename + fsync).
 * Returns HD_OK, HD_EIO or HD_ENOMEM. */
int hd_schedule_record(hd_schedule_state *st, const char *name, int64_t run_s, hd_err *err);

void hd_schedule_state_free(hd_schedule_state *st);

/* Decides whether c (read in zone) is due at now_s given its last run: sets *due_s to the
 * latest scheduled time in (last_run_s, now_s] and returns 1; returns 0 when none. A
 * schedule that never ran (last_run_s == 0) is first due at its next time after
 * first_seen_s (the reporter's first start), never retroactively. Returns a negative
 * error for a bad zone. */
int hd_schedule_due(int64_t *due_s, const hd_cron *c, const char *zone, int64_t last_run_s,
                    int64_t first_seen_s, int64_t now_s, hd_err *err);

/* Prints one line per schedule of cfg to f: name, report, cron, zone, next run after
 * now_s and last run (local times in the schedule's zone), from cfg's state file.
 * Returns HD_OK or the state file's error. */
int hd_schedule_print(FILE *f, const hd_config *cfg, int64_t now_s, hd_err *err);

#endif
