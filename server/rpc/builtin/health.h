/* grpc.health.v1.Health: Check and Watch over a table of per-service serving states that
 * the application updates (load balancers, orchestrators and `grpc_health_probe` ask
 * it). Open methods: no token needed. */
#ifndef HD_RPC_BUILTIN_HEALTH_H
#define HD_RPC_BUILTIN_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "server/common/err.h"
#include "server/rpc/rpc.h"

typedef struct hd_health hd_health;

/* Longest service name hd_health_set accepts, in bytes. */
#define HD_HEALTH_NAME_MAX 256
/* Most Watch calls open at once; one more fails with RESOURCE_EXHAUSTED. */
#define HD_HEALTH_MAX_WATCHERS 1024

/* Creates a status table in which "" (the whole server) is SERVING and no other service
 * is known. On success *out is owned (free with hd_health_destroy). Returns HD_OK or
 * HD_ENOMEM with detail. */
int hd_health_create(hd_health **out, hd_err *err);

/* Frees the table. Precondition: the server that served its methods has shut down (no
 * Watch call is open). Unbinds it from the handlers if bound. NULL is allowed. */
void hd_health_destroy(hd_health *h);

/* Sets service ("" = whole server) to SERVING or NOT_SERVING, adding it if new, and sends
 * the change to every Watch of that service. Thread-safe. Returns HD_OK, HD_EINVAL (name
 * longer than HD_HEALTH_NAME_MAX), HD_ENOMEM, or HD_ESTATE after hd_health_shutdown. */
int hd_health_set(hd_health *h, const char *service, bool serving);

/* Looks a service up: returns HD_OK with its state in *serving, or HD_ENOTFOUND. */
int hd_health_get(hd_health *h, const char *service, bool *serving);

/* For a graceful stop, before the server shuts down: every service becomes NOT_SERVING,
 * each open Watch is sent that and ended with OK (so shutdown need not wait out its grace
 * for them), new Watch calls get NOT_SERVING and end at once, later hd_health_set calls
 * fail with HD_ESTATE. Thread-safe; idempotent. */
void hd_health_shutdown(hd_health *h);

/* Number of Watch calls open right now (for tests and statistics). */
size_t hd_health_watch_count(hd_health *h);

/* Binds h as the table the Health handlers answer from (one per process: handlers only
 * see the call, so the bound table is module state) and returns the method table:
 * Check (unary) and Watch (server stream), both HD_RPC_OPEN. Static storage; stores the
 * row count in *n. h is borrowed until hd_health_destroy. Handlers answer HD_EUNAVAIL
 * while nothing is bound. */
const hd_rpc_method *hd_health_methods(hd_health *h, size_t *n);

#endif
