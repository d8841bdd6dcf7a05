/* What every RPC handler can reach through hd_rpc_call_app(call): the process's long-lived
 * modules. main.c fills it before serving and tears it down after the server stopped;
 * handlers only borrow the pointers. */
#ifndef HD_APP_H
#define HD_APP_H

#include <stddef.h>
#include <stdint.h>

typedef struct hd_store hd_store;
typedef struct hd_auth hd_auth;
typedef struct hd_mail hd_mail;
typedef struct hd_tickets_bus hd_tickets_bus;
typedef struct hd_offload hd_offload;

/* Version string of this build. */
#define HD_VERSION "0.1.0"

typedef struct hd_app {
    hd_store *store;       /* the LMDB store (server/store/store.h) */
    hd_auth *auth;         /* tokens (server/auth/auth.h) */
    const char *data_dir;  /* absolute path of the data directory */
    int64_t start_ms;      /* wall-clock start time, ms since the epoch */
    size_t max_body_bytes; /* largest message body accepted (default 1 MiB) */
    hd_tickets_bus *bus;   /* committed ticket events (server/tickets/bus.h) */
    hd_mail *mail;         /* the email channel (server/mail/mail.h) */
    hd_offload *slow;      /* pool for blocking handlers: logins, staff/customer/token writes */
} hd_app;

#endif
