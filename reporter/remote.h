/* The ReportingService as a report source: the reporter's only way to the data (it never
 * opens the store). Ticket rows are streamed and folded into the model. */
#ifndef HD_REPORTER_REMOTE_H
#define HD_REPORTER_REMOTE_H

#include "clients/lib/client.h"
#include "reporter/source.h"

typedef struct hd_remote {
    hd_client *client; /* borrowed */
    int timeout_ms;    /* per stream; <= 0: 10 min */
    int tickets;       /* fill from the ticket stream, not the rollups (cross-checks) */
} hd_remote;

/* Returns a source over r (borrowed for the source's lifetime). */
hd_source hd_remote_source(hd_remote *r);

/* Asks the server for the lease of run_key for ttl_s seconds as holder. Sets *granted
 * (this reporter should make the run) and *done (someone completed it already). Returns
 * HD_OK or the call's error with detail. */
int hd_remote_lease_acquire(hd_remote *r, const char *run_key, const char *holder, int ttl_s,
                            int *granted, int *done, hd_err *err);

/* Marks the leased run done. Returns HD_OK or the call's error. */
int hd_remote_lease_complete(hd_remote *r, const char *run_key, const char *holder, hd_err *err);

#endif
