/* helpdeskd: opens the store, serves the Helpdesk API, health and reflection over gRPC, and
 * shuts down gracefully on SIGTERM/SIGINT. Configuration: flags, then the environment
 * (HELPDESK_LISTEN, HELPDESK_DATA), then defaults. See README.md. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/api/admin_api.h"
#include "server/api/mail_api.h"
#include "server/api/auth_api.h"
#include "server/api/offload.h"
#include "server/api/customers_api.h"
#include "server/api/reporting_api.h"
#include "server/api/sla_api.h"
#include "server/api/staff_api.h"
#include "server/api/tickets_api.h"
#include "server/api/tickets_work_api.h"
#include "server/app.h"
#include "server/mail/blob.h"
#include "server/mail/mail.h"
#include "server/tickets/bus.h"
#include "server/tickets/reindex.h"
#include "server/tickets/note.h"
#include "server/tickets/staff_mentions.h"
#include "server/tickets/dashboard.h"
#include "server/auth/auth.h"
#include "server/check/check.h"
#include "server/common/log.h"
#include "server/reports/facts.h"
#include "server/reports/rollups.h"
#include "server/rpc/builtin/health.h"
#include "server/rpc/builtin/reflection.h"
#include "server/rpc/rpc.h"
#include "server/sla/engine.h"
#include "server/sla/monitor.h"
#include "server/sla/ticket_actions.h"
#include "server/sla/webhook.h"
#include "server/staff/metrics.h"
#include "server/store/store.h"
#include "server/tickets/observer.h"

#define DEFAULT_LISTEN  "127.0.0.1:7070"
#define DEFAULT_DATA    "./var"
#define DEFAULT_GRACE   5000
#define DEFAULT_RATE    50000.0 /* calls/s per caller: above what one machine serves */
#define HD_SLOW_THREADS 2       /* argon2id takes ~20 ms and 19 MiB: two at a time */
#define HD_SLOW_QUEUE   64      /* beyond this, logins and staff writes get RESOURCE_EXHAUSTED */

typedef struct options {
    const char *listen;
    const char *data;
    int workers;
    int max_calls; /* 0 = the serving layer's default */
    const char *tls_cert;
    const char *tls_key;
    const char *log_level;
    int grace_ms;
    uint64_t map_max;
    uint64_t map_start;
    double rate_per_s; /* per caller; 0 = unlimited */
    double rate_burst;
    int check;
    int unsafe_nosync;
    const char *ready_file;
    const char *restore;
    size_t max_body;
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: helpdeskd [options]\n"
            "  --listen HOST:PORT   address to serve on (env HELPDESK_LISTEN; default %s;\n"
            "                       port 0 picks a free port)\n"
            "  --data DIR           data directory (env HELPDESK_DATA; default %s)\n"
            "  --workers N          serving threads (default: number of cores)\n"
            "  --max-calls N        calls in flight at once; more get RESOURCE_EXHAUSTED\n"
            "                       at once (default 4096)\n"
            "  --tls-cert FILE      PEM certificate chain; with --tls-key serves TLS\n"
            "  --tls-key FILE       PEM private key\n"
            "  --log-level LEVEL    debug, info, warn or error (default info)\n"
            "  --grace-ms N         shutdown grace period for calls in flight (default %d)\n"
            "  --map-max BYTES      largest the store may grow to (suffix K, M, G, T)\n"
            "  --map-start BYTES    initial map size (default 8M; small values grow often)\n"
            "  --rate-limit N[/s|/m] calls per authenticated caller (default %g/s; 0 = off)\n"
            "  --rate-burst N       calls a caller may make at once (default 2 x rate)\n"
            "  --check              verify the store's invariants, print a report and exit\n"
            "                       (0 = consistent, 1 = problems found)\n"
            "  --max-body BYTES     largest message body accepted (default 1M)\n"
            "  --unsafe-nosync      skip fsync on commit: an OS crash may lose data (tests)\n"
            "  --ready-file FILE    write HOST:PORT to FILE once serving\n"
            "  --restore DIR        replace the data directory with the backup DIR and exit\n"
            "  --version            print the version and exit\n"
            "  --help               print this help and exit\n",
            DEFAULT_LISTEN, DEFAULT_DATA, DEFAULT_GRACE, DEFAULT_RATE);
}

/* Parses "123", "64K", "10M", "2G", "1T" into *out. Returns 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    default:
        return -1;
    }
    if (*end && end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* Parses "N", "N/s" or "N/m" (calls per second or minute, N >= 0) into calls per second.
 * Returns 0 or -1. */
static int parse_rate(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0) || v > 1e9)
        return -1;
    if (strcmp(end, "/m") == 0)
        v /= 60;
    else if (*end && strcmp(end, "/s") != 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* Returns 0 with *o filled, 1 when the program should exit 0 (help, version), 2 on a
 * usage error (already reported). */
static int parse_options(int argc, char **argv, options *o)
{
    enum {
        O_LISTEN = 256,
        O_DATA,
        O_WORKERS,
        O_TLS_CERT,
        O_TLS_KEY,
        O_LOG_LEVEL,
        O_GRACE,
        O_MAP_MAX,
        O_MAP_START,
        O_RATE,
        O_BURST,
        O_CHECK,
        O_MAX_BODY,
        O_MAX_CALLS,
        O_NOSYNC,
        O_READY,
        O_RESTORE,
        O_VERSION,
        O_HELP,
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"data", required_argument, NULL, O_DATA},
        {"workers", required_argument, NULL, O_WORKERS},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"log-level", required_argument, NULL, O_LOG_LEVEL},
        {"grace-ms", required_argument, NULL, O_GRACE},
        {"map-max", required_argument, NULL, O_MAP_MAX},
        {"map-start", required_argument, NULL, O_MAP_START},
        {"rate-limit", required_argument, NULL, O_RATE},
        {"rate-burst", required_argument, NULL, O_BURST},
        {"check", no_argument, NULL, O_CHECK},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"max-calls", required_argument, NULL, O_MAX_CALLS},
        {"unsafe-nosync", no_argument, NULL, O_NOSYNC},
        {"ready-file", required_argument, NULL, O_READY},
        {"restore", required_argument, NULL, O_RESTORE},
        {"version", no_argument, NULL, O_VERSION},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->grace_ms = DEFAULT_GRACE;
    o->max_body = 1u << 20;
    o->rate_per_s = DEFAULT_RATE;
    int c;
    uint64_t size;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_LISTEN:
            o->listen = optarg;
            break;
        case O_DATA:
            o->data = optarg;
            break;
        case O_WORKERS:
            if (parse_int(optarg, 1, 256, &o->workers) != 0) {
                fprintf(stderr, "helpdeskd: --workers: want 1-256, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_TLS_CERT:
            o->tls_cert = optarg;
            break;
        case O_TLS_KEY:
            o->tls_key = optarg;
            break;
        case O_LOG_LEVEL:
            o->log_level = optarg;
            break;
        case O_GRACE:
            if (parse_int(optarg, 0, 3600000, &o->grace_ms) != 0) {
                fprintf(stderr, "helpdeskd: --grace-ms: want 0-3600000, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_MAP_MAX:
            if (parse_size(optarg, &o->map_max) != 0 || o->map_max < (1u << 20)) {
                fprintf(stderr, "helpdeskd: --map-max: want a size >= 1M, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_MAP_START:
            if (parse_size(optarg, &o->map_start) != 0 || o->map_start < (64u << 10)) {
                fprintf(stderr, "helpdeskd: --map-start: want a size >= 64K, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_RATE:
            if (parse_rate(optarg, &o->rate_per_s) != 0) {
                fprintf(stderr, "helpdeskd: --rate-limit: want N, N/s or N/m, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_BURST:
            if (parse_rate(optarg, &o->rate_burst) != 0 || o->rate_burst < 1) {
                fprintf(stderr, "helpdeskd: --rate-burst: want a number >= 1, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_CHECK:
            o->check = 1;
            break;
        case O_MAX_BODY:
            if (parse_size(optarg, &size) != 0 || size < 1024 || size > (64u << 20)) {
                fprintf(stderr, "helpdeskd: --max-body: want 1K-64M, got '%s'\n", optarg);
                return 2;
            }
            o->max_body = (size_t)size;
            break;
        case O_MAX_CALLS:
            if (parse_int(optarg, 1, 1000000, &o->max_calls) != 0) {
                fprintf(stderr, "helpdeskd: --max-calls: want 1-1000000, got '%s'\n", optarg);
                return 2;
            }
            break;
        case O_NOSYNC:
            o->unsafe_nosync = 1;
            break;
        case O_READY:
            o->ready_file = optarg;
            break;
        case O_RESTORE:
            o->restore = optarg;
            break;
        case O_VERSION:
            printf("helpdeskd %s\n", HD_VERSION);
            return 1;
        case O_HELP:
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "helpdeskd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!!o->tls_cert != !!o->tls_key) {
        fprintf(stderr, "helpdeskd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (o->rate_burst == 0)
        o->rate_burst = o->rate_per_s * 2 >= 1 ? o->rate_per_s * 2 : 1;
    if (!o->listen)
        o->listen = getenv("HELPDESK_LISTEN");
    if (!o->listen || !*o->listen)
        o->listen = DEFAULT_LISTEN;
    if (!o->data)
        o->data = getenv("HELPDESK_DATA");
    if (!o->data || !*o->data)
        o->data = DEFAULT_DATA;
    if (o->log_level) {
        hd_log_level lv;
        if (hd_log_parse_level(o->log_level, &lv) != HD_OK) {
            fprintf(stderr, "helpdeskd: --log-level: want debug, info, warn or error\n");
            return 2;
        }
        hd_log_set_level(lv);
    }
    return 0;
}

/* Writes "host:port\n" to path atomically (temp file + rename). */
static int write_ready_file(const char *path, const char *addr, hd_err *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return hd_err_set(err, HD_EINVAL, "--ready-file: path too long");
    FILE *f = fopen(tmp, "w");
    if (!f)
        return hd_err_set(err, HD_EIO, "%s: %s", tmp, strerror(errno));
    int ok = fprintf(f, "%s\n", addr) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return hd_err_set(err, HD_EIO, "%s: %s", path, strerror(errno));
    }
    return HD_OK;
}

/* "host:port" with the real port: the configured host part and the bound port. */
static void bound_address(const char *listen, int port, char *out, size_t n)
{
    const char *colon = strrchr(listen, ':');
    int hostlen = colon ? (int)(colon - listen) : (int)strlen(listen);
    snprintf(out, n, "%.*s:%d", hostlen, listen, port);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int add_table(hd_rpc_server *srv, const hd_rpc_method *(*table)(size_t *), hd_err *err)
{
    size_t n;
    const hd_rpc_method *m = table(&n);
    return hd_rpc_server_add_methods(srv, m, n, err);
}

/* The store lives in <data>/store; other files of the data dir (admin.token) stay. */
static int store_path(const char *data, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/store", data);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

static int restore(const options *o)
{
    char moved[PATH_MAX], dest[PATH_MAX];
    hd_err err;
    hd_err_clear(&err);
    if (mkdir(o->data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "helpdeskd: cannot create data directory %s: %s\n", o->data,
                strerror(errno));
        return 1;
    }
    if (store_path(o->data, dest, sizeof(dest)) != 0) {
        fprintf(stderr, "helpdeskd: --data: path too long\n");
        return 2;
    }
    if (hd_store_restore(o->restore, dest, moved, sizeof(moved), &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: restore failed: %s\n", err.detail);
        return 1;
    }
    printf("restored %s into %s\n", o->restore, dest);
    if (moved[0])
        printf("the previous store was moved to %s\n", moved);
    return 0;
}

/* helpdeskd --check: runs the store checker on the open store; returns the exit code. */
static int check_store(hd_store *store, const char *dir)
{
    hd_check_result r;
    hd_err err;
    hd_err_clear(&err);
    if (hd_check_store(&r, store, stdout, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: --check could not run: %s\n", err.detail);
        return 2;
    }
    printf("checked %s: %" PRIu64 " tickets, %" PRIu64 " messages, %" PRIu64
           " index entries and counters: %" PRIu64 " problems\n",
           dir, r.tickets, r.messages, r.entries, r.problems);
    return r.problems ? 1 : 0;
}

int main(int argc, char **argv)
{
    options o;
    int prc = parse_options(argc, argv, &o);
    if (prc == 1)
        return 0;
    if (prc == 2)
        return 2;
    if (o.restore)
        return restore(&o);

    /* Block the stop signals before any thread exists (gRPC's threads inherit the mask);
     * main waits for them with sigwait, so shutdown never runs in a signal handler. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int code = 1;
    hd_err err;
    hd_err_clear(&err);
    hd_app app = {.start_ms = now_ms(), .max_body_bytes = o.max_body};
    hd_rpc_server *srv = NULL;
    hd_health *health = NULL;
    hd_sla_monitor *sla_monitor = NULL;
    hd_sla_webhook *sla_webhook = NULL;
    char data_dir[PATH_MAX];

    if (mkdir(o.data, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "helpdeskd: cannot create data directory %s: %s\n", o.data,
                strerror(errno));
        return 1;
    }
    if (!realpath(o.data, data_dir)) {
        fprintf(stderr, "helpdeskd: data directory %s: %s\n", o.data, strerror(errno));
        return 1;
    }
    app.data_dir = data_dir;

    char store_dir[PATH_MAX];
    if (store_path(data_dir, store_dir, sizeof(store_dir)) != 0) {
        fprintf(stderr, "helpdeskd: data directory path too long: %s\n", data_dir);
        return 1;
    }
    hd_store_opts so = {.path = store_dir,
                        .map_start = o.map_start,
                        .map_max = o.map_max,
                        .unsafe_nosync = o.unsafe_nosync};
    if (hd_store_open(&app.store, &so, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: cannot open the store: %s\n", err.detail);
        goto out;
    }
    if (o.check) { /* before anything that writes (reindex, observers, serving) */
        code = check_store(app.store, store_dir);
        goto out;
    }
    uint64_t reindexed = 0;
    if (hd_tickets_reindex(app.store, &reindexed, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: ticket indexes: %s\n", err.detail);
        goto out;
    }
    if (reindexed)
        hd_log(HD_LOG_INFO, "tickets_reindexed", "tickets=%" PRIu64, reindexed);
    hd_tickets_mentions_resolver(hd_tickets_staff_mention, NULL); /* @name in notes */
    if (hd_tickets_bus_create(&app.bus, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: tickets bus: %s\n", err.detail);
        goto out;
    }
    if (hd_auth_open(&app.auth, app.store, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: auth: %s\n", err.detail);
        goto out;
    }
    char token_file[PATH_MAX + 16];
    snprintf(token_file, sizeof(token_file), "%s/admin.token", data_dir);
    char token[HD_AUTH_TOKEN_TEXT_MAX];
    int created = 0;
    if (hd_auth_bootstrap(app.auth, token_file, token, sizeof(token), &created, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: bootstrap admin token: %s\n", err.detail);
        goto out;
    }
    /* Logins (argon2id) and the synchronous staff/customer/token writes run here, never on
     * the RPC workers. */
    if (hd_offload_create(&app.slow, HD_SLOW_THREADS, HD_SLOW_QUEUE, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: offload pool: %s\n", err.detail);
        goto out;
    }
    /* The email channel: mailbox poller, outbox worker, and the ticket reply hook. */
    hd_mail_opts mo = {
        .store = app.store, .data_dir = data_dir, .body_max = o.max_body, .bus = app.bus};
    if (hd_mail_start(&app.mail, &mo, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: mail: %s\n", err.detail);
        goto out;
    }
    if (hd_reflection_init(&err) != HD_OK) {
        fprintf(stderr, "helpdeskd: reflection: %s\n", err.detail);
        goto out;
    }
    if (hd_health_create(&health, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: health: %s\n", err.detail);
        goto out;
    }
    /* SLA clocks move with every ticket change in its txn; the monitor fires breaches and
     * runs their actions (escalations through the ticket change engine). */
    hd_sla_ticket_actions_install();
    if (hd_tickets_observe(hd_sla_engine_observe, NULL) != HD_OK) {
        fprintf(stderr, "helpdeskd: sla observer: cannot register\n");
        goto out;
    }
    if (hd_sla_monitor_start(&sla_monitor, app.store, &err) != HD_OK ||
        hd_sla_webhook_start(&sla_webhook, app.store, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: sla threads: %s\n", err.detail);
        goto out;
    }
    /* Per-agent metrics (GetAgentMetrics) follow every ticket change in its txn. */
    if (hd_tickets_observe(hd_staff_metrics_observe, NULL) != HD_OK) {
        fprintf(stderr, "helpdeskd: staff metrics observer: cannot register\n");
        goto out;
    }
    /* Dashboard gauges and histograms (GetDashboard, AutoAssign's load) likewise. */
    if (hd_tickets_observe(hd_dashboard_observe, NULL) != HD_OK) {
        fprintf(stderr, "helpdeskd: dashboard observer: cannot register\n");
        goto out;
    }
    /* The reports' hourly flows, backlog gauge and CSAT (ReportingService) likewise. */
    if (hd_tickets_observe(hd_reports_rollups_observe, NULL) != HD_OK) {
        fprintf(stderr, "helpdeskd: reports observer: cannot register\n");
        goto out;
    }
    /* Each ticket's report facts (trend and SLA sections), after the SLA observer whose
     * clocks they read. */
    if (hd_tickets_observe(hd_reports_facts_observe, NULL) != HD_OK) {
        fprintf(stderr, "helpdeskd: report facts observer: cannot register\n");
        goto out;
    }
    /* A store from before the report facts: count every ticket's once (then never again). */
    uint64_t facts_counted = 0;
    if (hd_reports_facts_backfill(app.store, &facts_counted, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: report facts: %s\n", err.detail);
        goto out;
    }
    if (facts_counted)
        hd_log(HD_LOG_INFO, "report_facts_backfill", "tickets=%" PRIu64, facts_counted);

    hd_rpc_config cfg = {
        .listen = o.listen,
        .workers = o.workers,
        .max_concurrent_calls = o.max_calls,
        .tls_cert_file = o.tls_cert,
        .tls_key_file = o.tls_key,
        /* A request carries a body or one upload (MailService/UploadAttachment). */
        .max_message_bytes = (o.max_body > HD_BLOB_MAX ? o.max_body : HD_BLOB_MAX) + (64u << 10),
        .auth = hd_auth_check,
        .auth_ud = app.auth,
        .rate_per_s = o.rate_per_s,
        .rate_burst = o.rate_burst,
        .app = &app,
    };
    size_t nhealth;
    const hd_rpc_method *health_methods = hd_health_methods(health, &nhealth);
    if (hd_rpc_server_create(&srv, &cfg, &err) != HD_OK ||
        hd_rpc_server_add_methods(srv, health_methods, nhealth, &err) != HD_OK ||
        add_table(srv, hd_reflection_methods, &err) != HD_OK ||
        add_table(srv, hd_tickets_api_methods, &err) != HD_OK ||
        add_table(srv, hd_tickets_work_api_methods, &err) != HD_OK ||
        add_table(srv, hd_admin_api_methods, &err) != HD_OK ||
        add_table(srv, hd_mail_api_methods, &err) != HD_OK ||
        add_table(srv, hd_sla_api_methods, &err) != HD_OK ||
        add_table(srv, hd_staff_api_methods, &err) != HD_OK ||
        add_table(srv, hd_customers_api_methods, &err) != HD_OK ||
        add_table(srv, hd_auth_api_methods, &err) != HD_OK ||
        add_table(srv, hd_reporting_api_methods, &err) != HD_OK ||
        hd_rpc_server_start(srv, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: cannot serve on %s: %s\n", o.listen, err.detail);
        goto out;
    }
    hd_health_set(health, "", true);

    char addr[300];
    bound_address(o.listen, hd_rpc_server_port(srv), addr, sizeof(addr));
    printf("helpdeskd listening on %s%s (data %s)\n", addr, o.tls_cert ? " with TLS" : "",
           data_dir);
    if (created)
        printf("admin token: %s\n(also written to %s, mode 0600)\n", token, token_file);
    fflush(stdout);
    hd_log(HD_LOG_INFO, "listening", "address=%s data=%s tls=%s", addr, data_dir,
           o.tls_cert ? "on" : "off");
    if (o.ready_file && write_ready_file(o.ready_file, addr, &err) != HD_OK) {
        fprintf(stderr, "helpdeskd: %s\n", err.detail);
        goto out;
    }

    int sig = 0;
    sigwait(&stop, &sig);
    hd_log(HD_LOG_INFO, "shutdown", "signal=%d grace_ms=%d active_calls=%d", sig, o.grace_ms,
           hd_rpc_server_active_calls(srv));
    hd_health_shutdown(health);
    code = 0;

out:
    hd_tickets_bus_close(app.bus); /* ends WatchTickets streams, which never end on their own */
    if (srv)
        hd_rpc_server_shutdown(srv, o.grace_ms);
    hd_rpc_server_destroy(srv);
    hd_offload_destroy(app.slow); /* after the server: queued calls end first */
    hd_health_destroy(health);
    hd_reflection_cleanup();
    hd_auth_destroy(app.auth);
    hd_sla_webhook_stop(sla_webhook);
    hd_sla_monitor_stop(sla_monitor); /* its last batch commits before the store closes */
    hd_mail_stop(app.mail);           /* the poller's last commits land before the store closes */
    hd_store_close(app.store);
    hd_tickets_bus_destroy(app.bus);
    if (code == 0)
        hd_log(HD_LOG_INFO, "stopped", NULL);
    return code;
}
