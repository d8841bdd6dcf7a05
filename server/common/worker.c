/* Background worker threads (see worker.h). */
#include "server/common/worker.h"

int hd_worker_start(hd_worker *w, void *(*fn)(void *), void *arg, const char *what, hd_err *err)
{
    w->stop = 0;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pthread_create(&w->thread, NULL, fn, arg) != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        return hd_err_set(err, HD_EINTERNAL, "%s: cannot start a thread", what);
    }
    return 0;
}

void hd_worker_stop(hd_worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

void hd_worker_deadline(struct timespec *ts, int64_t wait_ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += wait_ms / 1000;
    ts->tv_nsec += (wait_ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}
