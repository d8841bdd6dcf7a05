/* Sweeping temporaries of dead runs (see temps.h). A pid reused by an unrelated live
 * process keeps its file until that process ends: the sweep never removes what a live
 * process may still be writing. */
#include "reporter/temps.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define TEMP_MARK ".tmp-"

long hd_temps_pid(const char *name)
{
    const char *m = NULL;
    for (const char *p = strstr(name, TEMP_MARK); p; p = strstr(p + 1, TEMP_MARK))
        m = p;
    if (!m || m == name)
        return 0;
    long pid = 0;
    const char *d = m + strlen(TEMP_MARK);
    if (!*d)
        return 0;
    for (; *d; d++) {
        if (*d < '0' || *d > '9' || pid > 100000000L)
            return 0;
        pid = pid * 10 + (*d - '0');
    }
    return pid;
}

int hd_temps_sweep(const char *dir, int *removed, hd_err *err)
{
    int rc = HD_OK, n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (removed)
            *removed = 0;
        if (errno == ENOENT)
            return HD_OK;
        return hd_err_set(err, HD_EIO, "%s: %s", dir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        long pid = hd_temps_pid(de->d_name);
        if (pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue; /* alive (or not ours to signal): maybe still writing */
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        if (unlink(path) == 0)
            n++;
        else if (errno != ENOENT && rc == HD_OK)
            rc = hd_err_set(err, HD_EIO, "%s: %s", path, strerror(errno));
    }
    closedir(d);
    if (removed)
        *removed = n;
    return rc;
}
