/* Temporaries of killed runs. Every file the reporter writes (workbooks, CSVs, the state
 * file) is first written as "<name>.tmp-<pid>" and renamed; a run killed before the rename
 * leaves that file behind. The next run sweeps the ones whose process is gone. */
#ifndef HD_REPORTER_TEMPS_H
#define HD_REPORTER_TEMPS_H

#include "server/common/err.h"

/* Removes the files of dir named "<anything>.tmp-<pid>" whose pid is not a running process
 * (kill(pid, 0) fails with ESRCH); temporaries of live processes (another reporter writing
 * now) are kept. *removed (may be NULL) counts the files removed. A missing dir is not an
 * error. Returns HD_OK, or HD_EIO with the path when dir cannot be read or a file cannot
 * be removed (the sweep goes on past it). */
int hd_temps_sweep(const char *dir, int *removed, hd_err *err);

/* The temporary-file pid of name ("x.xlsx.tmp-123" -> 123), or 0 when name is not one. */
long hd_temps_pid(const char *name);

#endif
