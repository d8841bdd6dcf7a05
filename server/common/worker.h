/* A background thread with the lock, condition variable and stop flag its loop waits on:
 * the start/stop boilerplate of the server's periodic workers (SLA monitor, webhook
 * sender). The struct is embedded in its owner's, like a pthread type; the owner may guard
 * its own fields with mu and signal cv for its own wake-ups. */
#ifndef HD_COMMON_WORKER_H
#define HD_COMMON_WORKER_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "server/common/err.h"

typedef struct hd_worker {
    pthread_mutex_t mu; /* guards stop (and whatever the owner adds) */
    pthread_cond_t cv;  /* broadcast by hd_worker_stop */
    int stop;           /* set by hd_worker_stop under mu: the loop must return */
    pthread_t thread;
} hd_worker;

/* Initialises w (zeroed by the caller or not) and runs fn(arg) on a new thread; fn loops
 * until w->stop, waiting on w->cv with w->mu held. Returns 0, or HD_EINTERNAL ("<what>:
 * cannot start a thread") with w released: no hd_worker_stop then. */
int hd_worker_start(hd_worker *w, void *(*fn)(void *), void *arg, const char *what, hd_err *err);

/* Sets w->stop, wakes the thread, waits until fn returns and releases w's lock and
 * condition. Only after a successful hd_worker_start, once. */
void hd_worker_stop(hd_worker *w);

/* Sets *ts to the CLOCK_REALTIME time wait_ms (>= 0) from now: the deadline for
 * pthread_cond_timedwait on w->cv. */
void hd_worker_deadline(struct timespec *ts, int64_t wait_ms);

#endif
