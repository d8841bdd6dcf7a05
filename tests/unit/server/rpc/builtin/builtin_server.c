/* Test-only server: serves just health and reflection, for checking them with real
 * clients (Python grpcio, buf curl) before helpdeskd exists.
 * Usage: builtin_server HOST:PORT   (port 0 picks one; prints "listening on HOST:PORT")
 * Marks helpdesk.v1.TicketService and helpdesk.v1.AdminService SERVING. SIGTERM/SIGINT
 * stop it: health shutdown (ends Watch calls), then the server; exit 0. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server/rpc/builtin/health.h"
#include "server/rpc/builtin/reflection.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s HOST:PORT\n", argv[0]);
        return 2;
    }
    /* Blocked before any gRPC thread exists, so they inherit the mask; sigwait below. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    int rc = 1;
    hd_err err;
    hd_err_clear(&err);
    hd_health *health = NULL;
    hd_rpc_server *s = NULL;
    hd_rpc_config cfg = {.listen = argv[1]};
    size_t n;
    const hd_rpc_method *m;
    if (hd_health_create(&health, &err) != HD_OK || hd_reflection_init(&err) != HD_OK ||
        hd_rpc_server_create(&s, &cfg, &err) != HD_OK)
        goto fail;
    hd_health_set(health, "helpdesk.v1.TicketService", true);
    hd_health_set(health, "helpdesk.v1.AdminService", true);
    m = hd_health_methods(health, &n);
    if (hd_rpc_server_add_methods(s, m, n, &err) != HD_OK)
        goto fail;
    m = hd_reflection_methods(&n);
    if (hd_rpc_server_add_methods(s, m, n, &err) != HD_OK || hd_rpc_server_start(s, &err) != HD_OK)
        goto fail;

    const char *colon = strrchr(argv[1], ':');
    printf("listening on %.*s:%d\n", colon ? (int)(colon - argv[1]) : 0, argv[1],
           hd_rpc_server_port(s));
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    hd_health_shutdown(health);
    hd_rpc_server_shutdown(s, 2000);
    rc = 0;
fail:
    if (rc)
        fprintf(stderr, "builtin_server: %s: %s\n", hd_errname(err.code), err.detail);
    hd_rpc_server_destroy(s);
    hd_health_destroy(health);
    hd_reflection_cleanup();
    return rc;
}
