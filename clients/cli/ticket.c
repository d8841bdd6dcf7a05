/* `helpdesk ticket ...`: create, list, show and work on tickets (TicketService). A ticket
 * is named by its number (TKT-000042, any case) or its numeric id everywhere. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/customers.pb-c.h"
#include "helpdesk/v1/mail.pb-c.h"
#include "helpdesk/v1/staff.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define SVC      "/helpdesk.v1.TicketService/"
#define BODY_MAX (16u * 1024 * 1024)
#define EDITOR_MARKER                                                                              \
    "# ---- Write above this line. This line and everything below are ignored. ----"
#define LIST_PAGE_MAX  1000
#define LIST_LIMIT_DEF 50

/* --- shared helpers ----------------------------------------------------------------- */

static int64_t ts_ms(const Google__Protobuf__Timestamp *t)
{
    return t ? (int64_t)t->seconds * 1000 + t->nanos / 1000000 : 0;
}

static const char *word(char *buf, size_t n, const ProtobufCEnumDescriptor *d, int v)
{
    return hd_cli_enum_word(buf, n, d, v);
}

static int status_style(int s)
{
    switch (s) {
    case HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW:
        return HD_CLI_STYLE_CYAN;
    case HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN:
        return HD_CLI_STYLE_YELLOW;
    case HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING:
        return HD_CLI_STYLE_BLUE;
    case HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED:
        return HD_CLI_STYLE_GREEN;
    default:
        return HD_CLI_STYLE_DIM;
    }
}

static int priority_style(int p)
{
    switch (p) {
    case HELPDESK__V1__PRIORITY__PRIORITY_URGENT:
        return HD_CLI_STYLE_RED;
    case HELPDESK__V1__PRIORITY__PRIORITY_HIGH:
        return HD_CLI_STYLE_YELLOW;
    case HELPDESK__V1__PRIORITY__PRIORITY_LOW:
        return HD_CLI_STYLE_DIM;
    default:
        return HD_CLI_STYLE_PLAIN;
    }
}

/* Display names of customers and staff for tables, fetched once per id (at most
 * NAMES_MAX of each). A lookup the token may not make leaves the bare id. */
#define NAMES_MAX 256

typedef struct name_cache {
    uint64_t ids[NAMES_MAX];
    const char *names[NAMES_MAX];
    size_t n;
} name_cache;

static name_cache customer_names, staff_names;

static const char *cached_name(hd_cli *cli, name_cache *c, uint64_t id, int staff)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->ids[i] == id)
            return c->names[i];
    }
    if (c->n == NAMES_MAX)
        return NULL;
    hd_arena *ar = hd_cli_arena(cli);
    int rc;
    hd_client *cl = hd_cli_client(cli, &rc);
    ProtobufCMessage *m = NULL;
    const char *name = NULL;
    if (cl && staff) {
        Helpdesk__V1__GetStaffRequest req = HELPDESK__V1__GET_STAFF_REQUEST__INIT;
        req.id = id;
        if (hd_cli_call_on(cli, cl, ar, "/helpdesk.v1.StaffService/GetStaff", &req.base,
                           &helpdesk__v1__staff__descriptor, &m,
                           HD_CLI_QUIET_ALL) == HD_CLI_EXIT_OK)
            name = ((Helpdesk__V1__Staff *)m)->name;
    } else if (cl) {
        Helpdesk__V1__GetCustomerRequest req = HELPDESK__V1__GET_CUSTOMER_REQUEST__INIT;
        req.id = id;
        if (hd_cli_call_on(cli, cl, ar, "/helpdesk.v1.CustomerService/GetCustomer", &req.base,
                           &helpdesk__v1__customer__descriptor, &m,
                           HD_CLI_QUIET_ALL) == HD_CLI_EXIT_OK) {
            const Helpdesk__V1__Customer *cu = (const Helpdesk__V1__Customer *)m;
            name = cu->name[0] ? cu->name : cu->email;
        }
    }
    c->ids[c->n] = id;
    c->names[c->n] = name && *name ? name : NULL;
    return c->names[c->n++];
}

/* "Ada Lovelace (7)" or "7" into buf; "-" for id 0. */
static const char *who(hd_cli *cli, char *buf, size_t n, uint64_t id, int staff)
{
    const char *name =
        id ? cached_name(cli, staff ? &staff_names : &customer_names, id, staff) : NULL;
    if (!id)
        snprintf(buf, n, "-");
    else if (name)
        snprintf(buf, n, "%s (%" PRIu64 ")", name, id);
    else
        snprintf(buf, n, "%" PRIu64, id);
    return buf;
}

/* Parses a ticket argument: digits = id, anything else = number. */
static void ticket_ref(const char *arg, uint64_t *id, const char **number)
{
    char *end = NULL;
    *id = 0;
    *number = NULL;
    if (arg[0] >= '0' && arg[0] <= '9') {
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        if (!errno && !*end && v > 0) {
            *id = v;
            return;
        }
    }
    *number = arg;
}

/* Fetches a ticket with its thread by id or number. */
static int get_ticket(hd_cli *cli, const char *arg, Helpdesk__V1__GetTicketResponse **out)
{
    Helpdesk__V1__GetTicketRequest req = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    const char *number;
    ticket_ref(arg, &req.id, &number);
    if (number)
        req.number = (char *)number;
    ProtobufCMessage *resp;
    int rc = hd_cli_call(cli, SVC "GetTicket", &req.base,
                         &helpdesk__v1__get_ticket_response__descriptor, &resp);
    *out = (Helpdesk__V1__GetTicketResponse *)resp;
    return rc;
}

/* The numeric id of a ticket argument; a number costs one GetTicket. */
static int ticket_id(hd_cli *cli, const char *arg, uint64_t *id)
{
    const char *number;
    ticket_ref(arg, id, &number);
    if (!number)
        return HD_CLI_EXIT_OK;
    Helpdesk__V1__GetTicketResponse *r;
    int rc = get_ticket(cli, arg, &r);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    *id = r->ticket->id;
    return HD_CLI_EXIT_OK;
}

/* A staff argument: "me" (the logged-in member, from the config file) or an id. */
static int staff_ref(hd_cli *cli, const char *flag, const char *v, uint64_t *out)
{
    *out = 0;
    if (!v)
        return HD_CLI_EXIT_OK;
    if (strcmp(v, "me") == 0) {
        const hd_cli_config *cfg = hd_cli_settings(cli);
        if (!cfg->staff_id)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--%s me: who \"me\" is comes from `helpdesk login`; "
                               "log in or give a staff id",
                               flag);
        *out = cfg->staff_id;
        return HD_CLI_EXIT_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long id = strtoull(v, &end, 10);
    if (errno || *end || v[0] < '0' || v[0] > '9')
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s: want a staff id or \"me\", got \"%s\"",
                           flag, v);
    *out = id;
    return HD_CLI_EXIT_OK;
}

/* Prints one ticket as a short block (create/update/assign results). */
static int print_ticket_brief(hd_cli *cli, const Helpdesk__V1__Ticket *t)
{
    if (hd_cli_print_json(cli, &t->base))
        return HD_CLI_EXIT_OK;
    if (hd_cli_quiet(cli)) {
        printf("%s\n", t->number);
        return HD_CLI_EXIT_OK;
    }
    char s[32], p[32];
    printf("%s  %s\n  status %s, priority %s\n", t->number, t->subject,
           word(s, sizeof(s), &helpdesk__v1__ticket_status__descriptor, t->status),
           word(p, sizeof(p), &helpdesk__v1__priority__descriptor, t->priority));
    return HD_CLI_EXIT_OK;
}

/* Calls a TicketService method that answers with a Ticket and prints it briefly. Returns
 * the exit code (error line printed). */
static int call_brief(hd_cli *cli, const char *method, const ProtobufCMessage *req)
{
    ProtobufCMessage *m;
    int rc = hd_cli_call(cli, method, req, &helpdesk__v1__ticket__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return print_ticket_brief(cli, (const Helpdesk__V1__Ticket *)m);
}

/* The tail of the commands on one ticket that answer with it: resolves the TICKET argument
 * into *id (a field of req), then call_brief. */
static int ticket_call_brief(hd_cli *cli, const hd_cli_args *a, uint64_t *id, const char *method,
                             const ProtobufCMessage *req)
{
    int rc = ticket_id(cli, hd_cli_pos(a, 0), id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return call_brief(cli, method, req);
}

/* Reads up to BODY_MAX bytes of fd into an arena string. */
static int read_all(hd_cli *cli, int fd, const char *what, char **out)
{
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    int rc = HD_CLI_EXIT_OK;
    if (!buf)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    for (;;) {
        if (len == cap) {
            if (cap >= BODY_MAX) {
                rc = hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "%s: longer than %u bytes", what,
                                 BODY_MAX);
                goto done;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
                goto done;
            }
            buf = nb;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "%s: %s", what, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    *out = hd_arena_strndup(hd_cli_arena(cli), buf, len);
    if (!*out)
        rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
done:
    free(buf);
    return rc;
}

/* Runs $VISUAL / $EDITOR (default vi) on a temp file holding template; *out gets what
 * was written above the marker, trimmed. */
static int edit_body(hd_cli *cli, const char *template, char **out)
{
    char path[] = "/tmp/helpdesk-body-XXXXXX";
    int fd = mkstemp(path);
    int rc;
    if (fd < 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "temp file: %s", strerror(errno));
    size_t tl = strlen(template);
    if (write(fd, template, tl) != (ssize_t)tl) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "temp file: %s", strerror(errno));
        close(fd);
        goto done;
    }
    close(fd);
    const char *editor = getenv("VISUAL");
    if (!editor || !*editor)
        editor = getenv("EDITOR");
    if (!editor || !*editor)
        editor = "vi";
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        /* sh -c so EDITOR may carry arguments ("code --wait"). */
        execl("/bin/sh", "sh", "-c", "exec $HD_CLI_EDITOR \"$1\"", "sh", path, (char *)NULL);
        _exit(127);
    }
    (void)editor;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "the editor failed (exit %d); nothing sent",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        goto done;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "%s: %s", path, strerror(errno));
        goto done;
    }
    rc = read_all(cli, fd, path, out);
    close(fd);
    if (rc != HD_CLI_EXIT_OK)
        goto done;
    char *cut = strstr(*out, EDITOR_MARKER);
    if (cut)
        *cut = '\0';
done:
    unlink(path);
    return rc;
}

/* Strips leading and trailing blank lines and spaces in place. */
static char *trim_body(char *s)
{
    while (*s == '\n' || *s == ' ' || *s == '\r' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* The body of a reply or note: --body, --body-file (- = stdin), piped stdin, or the
 * editor on a terminal. An empty result is a usage error (nothing is sent). */
static int read_body(hd_cli *cli, const hd_cli_args *a, const char *ticket, const char *kind,
                     char **out)
{
    const char *body = hd_cli_arg(a, "body");
    const char *file = hd_cli_arg(a, "body-file");
    int rc = HD_CLI_EXIT_OK;
    char *text = NULL;
    if (body && file)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "give --body or --body-file, not both");
    if (body) {
        text = hd_arena_strdup(hd_cli_arena(cli), body);
    } else if (file && strcmp(file, "-") != 0) {
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--body-file %s: %s", file,
                               strerror(errno));
        rc = read_all(cli, fd, file, &text);
        close(fd);
    } else if (file || !isatty(STDIN_FILENO)) {
        rc = read_all(cli, STDIN_FILENO, "stdin", &text);
    } else {
        char *tmpl = hd_arena_printf(hd_cli_arena(cli), "\n\n%s\n# Your %s on %s.\n", EDITOR_MARKER,
                                     kind, ticket);
        if (!tmpl)
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        const char *editor = getenv("VISUAL");
        if (!editor || !*editor)
            editor = getenv("EDITOR");
        setenv("HD_CLI_EDITOR", editor && *editor ? editor : "vi", 1);
        rc = edit_body(cli, tmpl, &text);
    }
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (!text)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    text = trim_body(text);
    if (!*text)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "empty %s; nothing sent", kind);
    *out = text;
    return HD_CLI_EXIT_OK;
}

/* key=value custom fields from repeated --field. */
static int parse_fields(hd_cli *cli, const hd_cli_args *a, Helpdesk__V1__CustomField ***out,
                        size_t *n)
{
    const char *const *vals = hd_cli_arg_list(a, "field", n);
    hd_arena *ar = hd_cli_arena(cli);
    *out = NULL;
    if (*n == 0)
        return HD_CLI_EXIT_OK;
    *out = hd_arena_calloc(ar, *n, sizeof(**out));
    if (!*out)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    for (size_t i = 0; i < *n; i++) {
        const char *eq = strchr(vals[i], '=');
        if (!eq || eq == vals[i])
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--field: want KEY=VALUE, got \"%s\"",
                               vals[i]);
        Helpdesk__V1__CustomField *f = hd_arena_calloc(ar, 1, sizeof(*f));
        if (!f)
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        helpdesk__v1__custom_field__init(f);
        f->key = hd_arena_strndup(ar, vals[i], (size_t)(eq - vals[i]));
        f->value = hd_arena_strdup(ar, eq + 1);
        (*out)[i] = f;
    }
    return HD_CLI_EXIT_OK;
}

/* --- create ------------------------------------------------------------------------- */

static const hd_cli_opt create_opts[] = {
    {"subject", "TEXT", "one-line summary (required)"},
    {"body", "TEXT", "the first message (else --body-file or stdin)"},
    {"body-file", "FILE", "read the first message from FILE (- = stdin)"},
    {"customer", "EMAIL", "requester by email (created on first sight)"},
    {"customer-id", "ID", "requester by id"},
    {"name", "NAME", "requester's name when the customer is new"},
    {"priority", "P", "urgent, high, normal (default) or low"},
    {"channel", "C", "email, chat, sms, whatsapp, api (default), portal or phone"},
    {"category", "TEXT", "category"},
    {"tag", "TAG", "a tag (repeatable)"},
    {"field", "KEY=VALUE", "a custom field (repeatable)"},
    {"request-id", "KEY",
     "idempotency key: a retry with it returns the first ticket; other content with it is "
     "refused"},
    {0},
};

static int ticket_create(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
    int rc, v;
    const char *subject = hd_cli_arg(a, "subject");
    if (!subject)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--subject is required");
    req.subject = (char *)subject;
    if (hd_cli_arg(a, "customer"))
        req.customer_email = (char *)hd_cli_arg(a, "customer");
    if (hd_cli_arg(a, "name"))
        req.customer_name = (char *)hd_cli_arg(a, "name");
    if (hd_cli_arg(a, "category"))
        req.category = (char *)hd_cli_arg(a, "category");
    if (hd_cli_arg(a, "request-id"))
        req.request_id = (char *)hd_cli_arg(a, "request-id");
    rc = hd_cli_arg_u64(cli, a, "customer-id", 0, &req.customer_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = hd_cli_arg_enum(cli, a, "priority", &helpdesk__v1__priority__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.priority = (Helpdesk__V1__Priority)v;
    rc = hd_cli_arg_enum(cli, a, "channel", &helpdesk__v1__channel__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.channel = (Helpdesk__V1__Channel)v;
    req.tags = (char **)hd_cli_arg_list(a, "tag", &req.n_tags);
    rc = parse_fields(cli, a, &req.custom_fields, &req.n_custom_fields);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = read_body(cli, a, "a new ticket", "first message", &req.body);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return call_brief(cli, SVC "CreateTicket", &req.base);
}

/* --- list --------------------------------------------------------------------------- */

static const hd_cli_opt list_opts[] = {
    {"status", "S", "new, open, pending, solved, closed or merged"},
    {"priority", "P", "urgent, high, normal or low"},
    {"assignee", "ID", "assigned to this staff id, or \"me\""},
    {"unassigned", NULL, "only tickets nobody is assigned to"},
    {"customer-id", "ID", "only this customer's tickets"},
    {"category", "TEXT", "only this category"},
    {"tag", "TAG", "only tickets with this tag"},
    {"sort", "ORDER", "created (newest first, default), updated or priority"},
    {"limit", "N", "at most N tickets (default 50)"},
    {"all", NULL, "every matching ticket, following page tokens"},
    {"page-token", "TOKEN", "continue from a previous page"},
    {0},
};

static int list_build(hd_cli *cli, const hd_cli_args *a, Helpdesk__V1__ListTicketsRequest *req)
{
    int rc, v;
    rc = hd_cli_arg_enum(cli, a, "status", &helpdesk__v1__ticket_status__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req->status = (Helpdesk__V1__TicketStatus)v;
    rc = hd_cli_arg_enum(cli, a, "priority", &helpdesk__v1__priority__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req->priority = (Helpdesk__V1__Priority)v;
    const char *sort = hd_cli_arg(a, "sort");
    if (sort) {
        if (strcmp(sort, "created") == 0)
            req->sort = HELPDESK__V1__TICKET_SORT__TICKET_SORT_CREATE_TIME_DESC;
        else if (strcmp(sort, "updated") == 0)
            req->sort = HELPDESK__V1__TICKET_SORT__TICKET_SORT_UPDATE_TIME_DESC;
        else if (strcmp(sort, "priority") == 0)
            req->sort = HELPDESK__V1__TICKET_SORT__TICKET_SORT_PRIORITY;
        else
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--sort: \"%s\" is not one of created, updated, priority", sort);
    }
    rc = staff_ref(cli, "assignee", hd_cli_arg(a, "assignee"), &req->assignee_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req->unassigned = hd_cli_flag(a, "unassigned");
    if (req->unassigned && req->assignee_id)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "--assignee and --unassigned exclude each other");
    rc = hd_cli_arg_u64(cli, a, "customer-id", 0, &req->customer_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_arg(a, "category"))
        req->category = (char *)hd_cli_arg(a, "category");
    if (hd_cli_arg(a, "tag"))
        req->tag = (char *)hd_cli_arg(a, "tag");
    if (hd_cli_arg(a, "page-token"))
        req->page_token = (char *)hd_cli_arg(a, "page-token");
    return HD_CLI_EXIT_OK;
}

static const char *const list_headers[] = {"NUMBER",   "STATUS",  "PRIORITY", "ASSIGNEE",
                                           "CUSTOMER", "UPDATED", "SUBJECT"};

static int list_row(hd_cli *cli, hd_cli_table *t, const Helpdesk__V1__Ticket *k, int64_t now)
{
    char s[32], p[32], when[40];
    int st = k->status;
    int rc = 0;
    rc |= hd_cli_table_cell(t, k->number, HD_CLI_STYLE_BOLD);
    rc |= hd_cli_table_cell(t, word(s, sizeof(s), &helpdesk__v1__ticket_status__descriptor, st),
                            status_style(st));
    rc |= hd_cli_table_cell(t, word(p, sizeof(p), &helpdesk__v1__priority__descriptor, k->priority),
                            priority_style(k->priority));
    char name[160];
    rc |= hd_cli_table_cell(t, who(cli, name, sizeof(name), k->assignee_id, 1),
                            k->assignee_id ? HD_CLI_STYLE_PLAIN : HD_CLI_STYLE_DIM);
    rc |= hd_cli_table_cell(t, who(cli, name, sizeof(name), k->customer_id, 0), HD_CLI_STYLE_PLAIN);
    rc |= hd_cli_table_cell(t, hd_cli_reltime(when, sizeof(when), ts_ms(k->update_time), now),
                            HD_CLI_STYLE_DIM);
    rc |= hd_cli_table_cell(t, k->subject, HD_CLI_STYLE_PLAIN);
    return rc ? hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory") : HD_CLI_EXIT_OK;
}

static int ticket_list(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListTicketsRequest req = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
    uint64_t limit;
    int all = hd_cli_flag(a, "all");
    int rc = list_build(cli, a, &req);
    hd_cli_table *t = NULL;
    json_t *jlist = NULL;
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = hd_cli_arg_u64(cli, a, "limit", LIST_LIMIT_DEF, &limit);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (limit == 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--limit must be at least 1");
    if (all && hd_cli_arg(a, "limit"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--all and --limit exclude each other");
    if (hd_cli_json(cli)) {
        jlist = json_array();
        if (!jlist)
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    } else if (!hd_cli_quiet(cli)) {
        t = hd_cli_table_new(list_headers, 7, hd_cli_color(cli));
        if (!t)
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    }
    int64_t now = hd_cli_now_ms(cli);
    uint64_t shown = 0;
    const char *next = "";
    for (;;) {
        uint64_t want = all ? LIST_PAGE_MAX : limit - shown;
        req.page_size = (int32_t)(want > LIST_PAGE_MAX ? LIST_PAGE_MAX : want);
        ProtobufCMessage *m;
        rc = hd_cli_call(cli, SVC "ListTickets", &req.base,
                         &helpdesk__v1__list_tickets_response__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            goto done;
        const Helpdesk__V1__ListTicketsResponse *r = (const Helpdesk__V1__ListTicketsResponse *)m;
        for (size_t i = 0; i < r->n_tickets && (all || shown < limit); i++, shown++) {
            const Helpdesk__V1__Ticket *k = r->tickets[i];
            if (jlist) {
                json_t *j = hd_cli_json_message(&k->base);
                if (!j || json_array_append_new(jlist, j) != 0) {
                    rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
                    goto done;
                }
            } else if (t) {
                rc = list_row(cli, t, k, now);
                if (rc != HD_CLI_EXIT_OK)
                    goto done;
            } else {
                printf("%s\n", k->number);
            }
        }
        next = r->next_page_token;
        if (!next[0] || (!all && shown >= limit))
            break;
        req.page_token = (char *)next;
    }
    if (jlist) {
        json_t *doc = json_object();
        if (!doc || json_object_set(doc, "tickets", jlist) != 0 ||
            (next[0] && json_object_set_new(doc, "nextPageToken", json_string(next)) != 0)) {
            json_decref(doc);
            rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
            goto done;
        }
        hd_cli_json_dump(stdout, doc);
        json_decref(doc);
    } else if (t) {
        hd_cli_table_print(t, stdout);
        if (next[0] && !all)
            fprintf(stderr, "more: --page-token %s (or --all)\n", next);
    }
done:
    hd_cli_table_free(t);
    json_decref(jlist);
    return rc;
}

/* --- show --------------------------------------------------------------------------- */

/* One entry of the merged thread: a message, a note or an event, ordered by time. */
typedef struct thread_item {
    int64_t ms;
    int kind; /* -1 creation event, 0 message, 1 note, 2 other event, 3 draft (tie order) */
    size_t seq;
    const void *p;
} thread_item;

static int item_cmp(const void *x, const void *y)
{
    const thread_item *a = x, *b = y;
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void print_labelled(hd_cli *cli, const char *label, const char *value)
{
    if (!value || !*value)
        return;
    if (hd_cli_color(cli))
        printf("  \033[2m%-10s\033[0m %s\n", label, value);
    else
        printf("  %-10s %s\n", label, value);
}

static void print_header_line(hd_cli *cli, int64_t ms, int64_t now, const char *what)
{
    char when[40];
    hd_cli_reltime(when, sizeof(when), ms, now);
    if (hd_cli_color(cli))
        printf("\n\033[1m-- %s\033[0m \033[2m(%s)\033[0m\n", what, when);
    else
        printf("\n-- %s (%s)\n", what, when);
}

static void print_event(hd_cli *cli, const Helpdesk__V1__TicketEvent *e, int64_t now)
{
    char kind[48], actor[32], line[1024];
    size_t k = 0;
    hd_cli_enum_word(kind, sizeof(kind), &helpdesk__v1__ticket_event_kind__descriptor, e->kind);
    if (e->actor)
        hd_cli_enum_word(actor, sizeof(actor), &helpdesk__v1__actor_kind__descriptor,
                         e->actor->kind);
    else
        snprintf(actor, sizeof(actor), "system");
    int m = snprintf(line, sizeof(line), "%s by %s", kind, actor);
    k = m > 0 ? (size_t)m : 0;
    if (e->actor && e->actor->id && k < sizeof(line)) {
        m = snprintf(line + k, sizeof(line) - k, " %" PRIu64, e->actor->id);
        k += m > 0 ? (size_t)m : 0;
    }
    for (size_t i = 0; i < e->n_changes && k < sizeof(line); i++) {
        const Helpdesk__V1__FieldChange *c = e->changes[i];
        m = snprintf(line + k, sizeof(line) - k, "%s %s: %s -> %s", i ? "," : ";", c->field,
                     c->before[0] ? c->before : "(none)", c->after[0] ? c->after : "(none)");
        k += m > 0 ? (size_t)m : 0;
    }
    if (e->related_ticket_id && k < sizeof(line))
        snprintf(line + k, sizeof(line) - k, "; ticket %" PRIu64, e->related_ticket_id);
    char when[40];
    hd_cli_reltime(when, sizeof(when), ts_ms(e->time), now);
    if (hd_cli_color(cli))
        printf("\n\033[2m.. %s (%s)\033[0m\n", line, when);
    else
        printf("\n.. %s (%s)\n", line, when);
}

/* One line per file of a message or draft. */
static void print_attachments(Helpdesk__V1__Attachment *const *v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        printf("[attachment: %s, %s, %" PRIu64 " bytes, sha256 %s]\n",
               v[j]->filename[0] ? v[j]->filename : "(unnamed)", v[j]->content_type, v[j]->size,
               v[j]->sha256);
}

static int show_thread(hd_cli *cli, const Helpdesk__V1__GetTicketResponse *r, int64_t now)
{
    size_t n = r->n_messages + r->n_notes + r->n_events + r->n_drafts, k = 0;
    thread_item *items = calloc(n ? n : 1, sizeof(*items));
    if (!items)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    for (size_t i = 0; i < r->n_messages; i++)
        items[k++] = (thread_item){ts_ms(r->messages[i]->create_time), 0, i, r->messages[i]};
    for (size_t i = 0; i < r->n_notes; i++)
        items[k++] = (thread_item){ts_ms(r->notes[i]->create_time), 1, i, r->notes[i]};
    for (size_t i = 0; i < r->n_drafts; i++)
        items[k++] = (thread_item){ts_ms(r->drafts[i]->update_time), 3, i, r->drafts[i]};
    for (size_t i = 0; i < r->n_events; i++) {
        const Helpdesk__V1__TicketEvent *e = r->events[i];
        /* Messages and notes print in full; their events would only repeat them unless
         * they changed fields too (a reply moving the status). */
        int added = e->kind == HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_MESSAGE_ADDED ||
                    e->kind == HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_NOTE_ADDED;
        if (added && e->n_changes == 0)
            continue;
        int created = e->kind == HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_CREATED;
        items[k++] = (thread_item){ts_ms(e->time), created ? -1 : 2, i, e};
    }
    qsort(items, k, sizeof(*items), item_cmp);
    for (size_t i = 0; i < k; i++) {
        char what[256], kindw[32];
        if (items[i].kind == 0) {
            const Helpdesk__V1__Message *m = items[i].p;
            char name[160];
            int staff = m->author_kind == HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_STAFF;
            hd_cli_enum_word(kindw, sizeof(kindw), &helpdesk__v1__author_kind__descriptor,
                             m->author_kind);
            snprintf(what, sizeof(what), "message from %s %s", kindw,
                     who(cli, name, sizeof(name), m->author_id, staff));
            print_header_line(cli, items[i].ms, now, what);
            printf("%s\n", m->body);
            print_attachments(m->attachments, m->n_attachments);
        } else if (items[i].kind == 1) {
            const Helpdesk__V1__Note *nt = items[i].p;
            char vis[32];
            hd_cli_enum_word(vis, sizeof(vis), &helpdesk__v1__note_visibility__descriptor,
                             nt->visibility);
            char name[160];
            snprintf(what, sizeof(what), "note (%s) from staff %s", vis,
                     who(cli, name, sizeof(name), nt->author_id, 1));
            print_header_line(cli, items[i].ms, now, what);
            printf("%s\n", nt->body);
        } else if (items[i].kind == 3) {
            const Helpdesk__V1__Draft *dr = items[i].p;
            snprintf(what, sizeof(what), "draft %" PRIu64 " (unsent) from staff %" PRIu64, dr->id,
                     dr->author_id);
            print_header_line(cli, items[i].ms, now, what);
            printf("%s\n", dr->body);
            print_attachments(dr->attachments, dr->n_attachments);
        } else {
            print_event(cli, items[i].p, now); /* kinds -1 and 2 */
        }
    }
    free(items);
    return HD_CLI_EXIT_OK;
}

static int ticket_show(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__GetTicketResponse *r;
    int rc = get_ticket(cli, hd_cli_pos(a, 0), &r);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_print_json(cli, &r->base))
        return HD_CLI_EXIT_OK;
    const Helpdesk__V1__Ticket *t = r->ticket;
    if (hd_cli_quiet(cli)) {
        printf("%s\n", t->number);
        return HD_CLI_EXIT_OK;
    }
    int64_t now = hd_cli_now_ms(cli);
    char s[32], p[32], c[32], buf[256], w1[40], w2[40];
    if (hd_cli_color(cli))
        printf("\033[1m%s  %s\033[0m\n", t->number, t->subject);
    else
        printf("%s  %s\n", t->number, t->subject);
    snprintf(buf, sizeof(buf), "%s, priority %s, via %s",
             word(s, sizeof(s), &helpdesk__v1__ticket_status__descriptor, t->status),
             word(p, sizeof(p), &helpdesk__v1__priority__descriptor, t->priority),
             word(c, sizeof(c), &helpdesk__v1__channel__descriptor, t->channel));
    print_labelled(cli, "status", buf);
    print_labelled(cli, "customer", who(cli, buf, sizeof(buf), t->customer_id, 0));
    if (t->assignee_id || t->group_id) {
        char name[160];
        snprintf(buf, sizeof(buf), "%s, group %" PRIu64,
                 who(cli, name, sizeof(name), t->assignee_id, 1), t->group_id);
        print_labelled(cli, "assigned", buf);
    }
    print_labelled(cli, "category", t->category);
    if (t->n_tags) {
        size_t k = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < t->n_tags && k < sizeof(buf); i++) {
            int m = snprintf(buf + k, sizeof(buf) - k, "%s%s", i ? ", " : "", t->tags[i]);
            k += m > 0 ? (size_t)m : 0;
        }
        print_labelled(cli, "tags", buf);
    }
    for (size_t i = 0; i < t->n_custom_fields; i++)
        print_labelled(cli, t->custom_fields[i]->key, t->custom_fields[i]->value);
    snprintf(buf, sizeof(buf), "%s, updated %s",
             hd_cli_reltime(w1, sizeof(w1), ts_ms(t->create_time), now),
             hd_cli_reltime(w2, sizeof(w2), ts_ms(t->update_time), now));
    print_labelled(cli, "created", buf);
    if (t->merged_into) {
        snprintf(buf, sizeof(buf), "%" PRIu64, t->merged_into);
        print_labelled(cli, "merged into", buf);
    }
    if (t->rating) {
        snprintf(buf, sizeof(buf), "%u/5%s%s", t->rating->score, t->rating->comment[0] ? ": " : "",
                 t->rating->comment);
        print_labelled(cli, "rating", buf);
    }
    for (size_t i = 0; i < t->n_undeliverable; i++) {
        const Helpdesk__V1__UndeliverableAddress *u = t->undeliverable[i];
        snprintf(buf, sizeof(buf), "%s (%s%s%s), no mail goes there", u->address, u->status,
                 u->reason[0] ? " " : "", u->reason);
        print_labelled(cli, "undeliverable", buf);
    }
    return show_thread(cli, r, now);
}

/* --- update, close, reopen, solve --------------------------------------------------- */

static const hd_cli_opt update_opts[] = {
    {"subject", "TEXT", "new subject"},
    {"priority", "P", "urgent, high, normal or low"},
    {"status", "S", "open, pending, solved or closed"},
    {"category", "TEXT", "new category (\"\" clears it)"},
    {"tag", "TAG", "the new tag set (repeatable; replaces all tags)"},
    {"clear-tags", NULL, "remove every tag"},
    {"field", "KEY=VALUE", "the new custom fields (repeatable; replaces all)"},
    {0},
};

/* Sends UpdateTicket with the fields in paths set on t. */
static int update_call(hd_cli *cli, Helpdesk__V1__Ticket *t, char **paths, size_t npaths)
{
    Helpdesk__V1__UpdateTicketRequest req = HELPDESK__V1__UPDATE_TICKET_REQUEST__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    mask.paths = paths;
    mask.n_paths = npaths;
    req.ticket = t;
    req.update_mask = &mask;
    return call_brief(cli, SVC "UpdateTicket", &req.base);
}

static int ticket_update(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    char *paths[8];
    size_t np = 0;
    int rc, v;
    rc = ticket_id(cli, hd_cli_pos(a, 0), &t.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_arg(a, "subject")) {
        t.subject = (char *)hd_cli_arg(a, "subject");
        paths[np++] = (char *)"subject";
    }
    if (hd_cli_arg(a, "category")) {
        t.category = (char *)hd_cli_arg(a, "category");
        paths[np++] = (char *)"category";
    }
    if (hd_cli_arg(a, "priority")) {
        rc = hd_cli_arg_enum(cli, a, "priority", &helpdesk__v1__priority__descriptor, 0, &v);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        t.priority = (Helpdesk__V1__Priority)v;
        paths[np++] = (char *)"priority";
    }
    if (hd_cli_arg(a, "status")) {
        rc = hd_cli_arg_enum(cli, a, "status", &helpdesk__v1__ticket_status__descriptor, 0, &v);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        t.status = (Helpdesk__V1__TicketStatus)v;
        paths[np++] = (char *)"status";
    }
    t.tags = (char **)hd_cli_arg_list(a, "tag", &t.n_tags);
    if (t.n_tags && hd_cli_flag(a, "clear-tags"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--tag and --clear-tags exclude each other");
    if (t.n_tags || hd_cli_flag(a, "clear-tags"))
        paths[np++] = (char *)"tags";
    rc = parse_fields(cli, a, &t.custom_fields, &t.n_custom_fields);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (t.n_custom_fields)
        paths[np++] = (char *)"custom_fields";
    if (np == 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "nothing to change (see `helpdesk ticket update --help`)");
    return update_call(cli, &t, paths, np);
}

static int set_status(hd_cli *cli, const hd_cli_args *a, Helpdesk__V1__TicketStatus status)
{
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    char *paths[] = {(char *)"status"};
    int rc = ticket_id(cli, hd_cli_pos(a, 0), &t.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    t.status = status;
    return update_call(cli, &t, paths, 1);
}

static int ticket_close(hd_cli *cli, const hd_cli_args *a)
{
    return set_status(cli, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
}

static int ticket_solve(hd_cli *cli, const hd_cli_args *a)
{
    return set_status(cli, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED);
}

static int ticket_reopen(hd_cli *cli, const hd_cli_args *a)
{
    return set_status(cli, a, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_OPEN);
}

/* --- reply, note, rate -------------------------------------------------------------- */

static const hd_cli_opt reply_opts[] = {
    {"body", "TEXT", "the reply (else --body-file, stdin, or $EDITOR on a terminal)"},
    {"body-file", "FILE", "read the reply from FILE (- = stdin)"},
    {"status", "S", "status after the reply: pending (default), open or solved"},
    {"draft", NULL, "save as a draft for review instead of sending"},
    {"attach", "FILE",
     "send FILE with the reply, or keep it on the draft (repeatable; at most 10, 10 MiB each)"},
    {0},
};

#define ATTACH_FILE_MAX (10 << 20)

/* MIME type by file name extension; application/octet-stream when unknown. */
static const char *guess_type(const char *name)
{
    static const char *const map[][2] = {
        {".pdf", "application/pdf"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".txt", "text/plain"},
        {".csv", "text/csv"},
        {".zip", "application/zip"},
        {".json", "application/json"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(dot, map[i][0]) == 0)
            return map[i][1];
    return "application/octet-stream";
}

/* Uploads each file (MailService/UploadAttachment) and fills *out with the references. */
static int upload_files(hd_cli *cli, const char *const *files, size_t n,
                        Helpdesk__V1__Attachment ***out)
{
    hd_arena *ar = hd_cli_arena(cli);
    Helpdesk__V1__Attachment **v = hd_arena_calloc(ar, n, sizeof(*v));
    if (!v)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        FILE *f = fopen(files[i], "rb");
        if (!f)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--attach %s: %s", files[i],
                               strerror(errno));
        unsigned char *data = hd_arena_alloc(ar, ATTACH_FILE_MAX + 1);
        size_t len = data ? fread(data, 1, ATTACH_FILE_MAX + 1, f) : 0;
        int bad = ferror(f);
        fclose(f);
        if (!data)
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        if (bad)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--attach %s: read error", files[i]);
        if (len == 0 || len > ATTACH_FILE_MAX)
            return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--attach %s: want 1 byte to 10 MiB",
                               files[i]);
        Helpdesk__V1__UploadAttachmentRequest up = HELPDESK__V1__UPLOAD_ATTACHMENT_REQUEST__INIT;
        up.data.data = data;
        up.data.len = len;
        ProtobufCMessage *m;
        int rc = hd_cli_call(cli, "/helpdesk.v1.MailService/UploadAttachment", &up.base,
                             &helpdesk__v1__upload_attachment_response__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        const char *slash = strrchr(files[i], '/');
        v[i] = hd_arena_calloc(ar, 1, sizeof(*v[i]));
        if (!v[i])
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        helpdesk__v1__attachment__init(v[i]);
        v[i]->sha256 = ((Helpdesk__V1__UploadAttachmentResponse *)m)->sha256;
        v[i]->filename = (char *)(slash ? slash + 1 : files[i]);
        v[i]->content_type = (char *)guess_type(v[i]->filename);
    }
    *out = v;
    return HD_CLI_EXIT_OK;
}

static int ticket_reply(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    int rc, v;
    rc = hd_cli_arg_enum(cli, a, "status", &helpdesk__v1__ticket_status__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.status_after = (Helpdesk__V1__TicketStatus)v;
    req.mode = hd_cli_flag(a, "draft") ? HELPDESK__V1__REPLY_MODE__REPLY_MODE_DRAFT
                                       : HELPDESK__V1__REPLY_MODE__REPLY_MODE_SEND;
    rc = ticket_id(cli, hd_cli_pos(a, 0), &req.ticket_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = read_body(cli, a, hd_cli_pos(a, 0), "reply", &req.body);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const char *const *files = hd_cli_arg_list(a, "attach", &req.n_attachments);
    if (req.n_attachments) {
        rc = upload_files(cli, files, req.n_attachments, &req.attachments);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    }
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "ReplyToTicket", &req.base,
                     &helpdesk__v1__reply_to_ticket_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__ReplyToTicketResponse *r = (const Helpdesk__V1__ReplyToTicketResponse *)m;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    char s[32];
    const char *number = r->ticket ? r->ticket->number : "";
    if (hd_cli_quiet(cli)) {
        if (r->message)
            printf("%" PRIu64 "\n", r->message->id);
        else if (r->draft)
            printf("%" PRIu64 "\n", r->draft->id);
        return HD_CLI_EXIT_OK;
    }
    if (r->draft)
        printf("draft %" PRIu64 " saved on %s\n", r->draft->id, number);
    else if (r->message)
        printf("replied on %s (message %" PRIu64 "); status %s\n", number, r->message->id,
               word(s, sizeof(s), &helpdesk__v1__ticket_status__descriptor,
                    r->ticket ? r->ticket->status : 0));
    if (r->follow_up)
        printf("follow-up ticket %s opened\n", r->follow_up->number);
    return HD_CLI_EXIT_OK;
}

static const hd_cli_opt note_opts[] = {
    {"body", "TEXT", "the note; @name mentions staff (else --body-file, stdin or $EDITOR)"},
    {"body-file", "FILE", "read the note from FILE (- = stdin)"},
    {"private", NULL, "only you may read it (default: the team)"},
    {"request-id", "KEY",
     "idempotency key (default: a new one per run): rerunning with it adds "
     "the note once"},
    {0},
};

/* A fresh idempotency key for one run: "cli-" and 16 hex digits, in the run's arena. NULL
 * when out of memory. */
static const char *new_request_id(hd_cli *cli)
{
    unsigned char r[8];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)getpid();
        memcpy(r, &v, sizeof(r));
    }
    return hd_arena_printf(hd_cli_arena(cli), "cli-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1],
                           r[2], r[3], r[4], r[5], r[6], r[7]);
}

static int ticket_note(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__AddNoteRequest req = HELPDESK__V1__ADD_NOTE_REQUEST__INIT;
    int rc = ticket_id(cli, hd_cli_pos(a, 0), &req.ticket_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.visibility = hd_cli_flag(a, "private")
                         ? HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_PRIVATE
                         : HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_TEAM;
    rc = read_body(cli, a, hd_cli_pos(a, 0), "note", &req.body);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.request_id = (char *)hd_cli_arg(a, "request-id");
    if (!req.request_id)
        req.request_id = (char *)new_request_id(cli);
    if (!req.request_id)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "AddNote", &req.base, &helpdesk__v1__note__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    const Helpdesk__V1__Note *n = (const Helpdesk__V1__Note *)m;
    if (hd_cli_quiet(cli))
        printf("%" PRIu64 "\n", n->id);
    else
        printf("note %" PRIu64 " added to %s%s\n", n->id, hd_cli_pos(a, 0),
               n->n_mentions ? " (mentions notified)" : "");
    return HD_CLI_EXIT_OK;
}

static const hd_cli_opt rate_opts[] = {
    {"score", "N", "1 (very unhappy) to 5 (very happy), required"},
    {"comment", "TEXT", "optional comment"},
    {0},
};

static int ticket_rate(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__RateTicketRequest req = HELPDESK__V1__RATE_TICKET_REQUEST__INIT;
    uint64_t score;
    int rc = hd_cli_arg_u64(cli, a, "score", 0, &score);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (score < 1 || score > 5)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--score: want 1 to 5");
    req.score = (uint32_t)score;
    if (hd_cli_arg(a, "comment"))
        req.comment = (char *)hd_cli_arg(a, "comment");
    return ticket_call_brief(cli, a, &req.ticket_id, SVC "RateTicket", &req.base);
}

/* --- watch -------------------------------------------------------------------------- */

static const hd_cli_opt watch_opts[] = {
    {"assignee", "ID", "only tickets assigned to this staff id, or \"me\""},
    {"group", "ID", "only tickets of this group"},
    {0},
};

static int watch_one(void *ud, const ProtobufCMessage *msg)
{
    hd_cli *cli = ud;
    const Helpdesk__V1__WatchTicketsResponse *r = (const Helpdesk__V1__WatchTicketsResponse *)msg;
    if (hd_cli_json(cli)) {
        /* One compact document per line, so the stream can be read line by line. */
        json_t *j = hd_cli_json_message(msg);
        if (j) {
            json_dumpf(j, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
            json_decref(j);
        }
    } else if (r->ticket) {
        char kind[48], s[32], when[40];
        const Helpdesk__V1__TicketEvent *e = r->event;
        if (hd_cli_quiet(cli)) {
            printf("%s\n", r->ticket->number);
        } else {
            hd_cli_enum_word(kind, sizeof(kind), &helpdesk__v1__ticket_event_kind__descriptor,
                             e ? e->kind : 0);
            printf("%s  %-15s %-8s %s  %s\n",
                   hd_cli_rfc3339(when, sizeof(when), e && e->time ? e->time->seconds : 0, 0), kind,
                   word(s, sizeof(s), &helpdesk__v1__ticket_status__descriptor, r->ticket->status),
                   r->ticket->number, r->ticket->subject);
        }
    }
    fflush(stdout);
    return 0;
}

static int ticket_watch(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__WatchTicketsRequest req = HELPDESK__V1__WATCH_TICKETS_REQUEST__INIT;
    int rc = staff_ref(cli, "assignee", hd_cli_arg(a, "assignee"), &req.assignee_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = hd_cli_arg_u64(cli, a, "group", 0, &req.group_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_stream(cli, SVC "WatchTickets", &req.base,
                         &helpdesk__v1__watch_tickets_response__descriptor, watch_one, cli);
}

/* --- assign, escalate, merge, link -------------------------------------------------- */

static const hd_cli_opt assign_opts[] = {
    {"to", "ID", "staff id or \"me\" (omit with --group for group only)"},
    {"group", "ID", "group id"},
    {"auto", NULL, "pick the least-loaded member of the (ticket's) group"},
    {"none", NULL, "unassign"},
    {0},
};

static int ticket_assign(hd_cli *cli, const hd_cli_args *a)
{
    uint64_t id, group, to;
    int rc = staff_ref(cli, "to", hd_cli_arg(a, "to"), &to);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = hd_cli_arg_u64(cli, a, "group", 0, &group);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    int autoa = hd_cli_flag(a, "auto"), none = hd_cli_flag(a, "none");
    if (autoa + none + (to != 0) > 1)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "give one of --to, --auto, --none");
    if (!autoa && !none && !to && !group)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "give --to, --group, --auto or --none");
    rc = ticket_id(cli, hd_cli_pos(a, 0), &id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    ProtobufCMessage *m;
    if (autoa) {
        Helpdesk__V1__AutoAssignRequest req = HELPDESK__V1__AUTO_ASSIGN_REQUEST__INIT;
        req.ticket_id = id;
        req.group_id = group;
        rc = hd_cli_call(cli, SVC "AutoAssign", &req.base, &helpdesk__v1__ticket__descriptor, &m);
    } else {
        Helpdesk__V1__AssignTicketRequest req = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
        req.ticket_id = id;
        req.assignee_id = to;
        req.group_id = group;
        rc = hd_cli_call(cli, SVC "AssignTicket", &req.base, &helpdesk__v1__ticket__descriptor, &m);
    }
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__Ticket *t = (const Helpdesk__V1__Ticket *)m;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    if (hd_cli_quiet(cli))
        printf("%s\n", t->number);
    else if (t->assignee_id)
        printf("%s assigned to staff %" PRIu64 " (group %" PRIu64 ")\n", t->number, t->assignee_id,
               t->group_id);
    else
        printf("%s unassigned (group %" PRIu64 ")\n", t->number, t->group_id);
    return HD_CLI_EXIT_OK;
}

static const hd_cli_opt escalate_opts[] = {
    {"reason", "R", "customer-request, sla-risk, expertise, impact or other (required)"},
    {"to", "ID", "manager to hand the ticket to"},
    {"group", "ID", "group to hand the ticket to"},
    {"text", "TEXT", "why, in words"},
    {"priority", "P", "raise the priority to at least P"},
    {0},
};

static int ticket_escalate(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__EscalateTicketRequest req = HELPDESK__V1__ESCALATE_TICKET_REQUEST__INIT;
    int rc, v;
    if (!hd_cli_arg(a, "reason"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--reason is required");
    rc = hd_cli_arg_enum(cli, a, "reason", &helpdesk__v1__escalation_reason__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.reason = (Helpdesk__V1__EscalationReason)v;
    rc = hd_cli_arg_enum(cli, a, "priority", &helpdesk__v1__priority__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.raise_priority = (Helpdesk__V1__Priority)v;
    rc = staff_ref(cli, "to", hd_cli_arg(a, "to"), &req.manager_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = hd_cli_arg_u64(cli, a, "group", 0, &req.group_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_arg(a, "text"))
        req.reason_text = (char *)hd_cli_arg(a, "text");
    return ticket_call_brief(cli, a, &req.ticket_id, SVC "EscalateTicket", &req.base);
}

static const hd_cli_opt merge_opts[] = {
    {"into", "TICKET", "the ticket that stays (required)"},
    {0},
};

static int ticket_merge(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__MergeTicketsRequest req = HELPDESK__V1__MERGE_TICKETS_REQUEST__INIT;
    const char *into = hd_cli_arg(a, "into");
    if (!into)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--into TICKET is required");
    int rc = ticket_id(cli, hd_cli_pos(a, 0), &req.source_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = ticket_id(cli, into, &req.target_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "MergeTickets", &req.base,
                     &helpdesk__v1__merge_tickets_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    const Helpdesk__V1__MergeTicketsResponse *r = (const Helpdesk__V1__MergeTicketsResponse *)m;
    if (hd_cli_quiet(cli))
        printf("%s\n", r->target ? r->target->number : "");
    else
        printf("%s merged into %s (%u messages, %u notes moved)\n",
               r->source ? r->source->number : "?", r->target ? r->target->number : "?",
               r->moved_messages, r->moved_notes);
    return HD_CLI_EXIT_OK;
}

static const hd_cli_opt link_opts[] = {
    {"kind", "K", "related (default) or follow-up-of (the first follows up the second)"},
    {"remove", NULL, "remove the link instead"},
    {0},
};

static int ticket_link(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__LinkTicketsRequest req = HELPDESK__V1__LINK_TICKETS_REQUEST__INIT;
    int v;
    int rc = hd_cli_arg_enum(cli, a, "kind", &helpdesk__v1__link_kind__descriptor,
                             HELPDESK__V1__LINK_KIND__LINK_KIND_RELATED, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.kind = (Helpdesk__V1__LinkKind)v;
    req.remove = hd_cli_flag(a, "remove");
    rc = ticket_id(cli, hd_cli_pos(a, 0), &req.ticket_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = ticket_id(cli, hd_cli_pos(a, 1), &req.other_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "LinkTickets", &req.base,
                     &helpdesk__v1__link_tickets_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    const Helpdesk__V1__LinkTicketsResponse *r = (const Helpdesk__V1__LinkTicketsResponse *)m;
    if (hd_cli_quiet(cli)) {
        printf("%s\n", r->ticket ? r->ticket->number : "");
    } else {
        char k[32];
        printf("%s %s %s (%s)\n", r->ticket ? r->ticket->number : "?",
               req.remove ? "unlinked from" : "linked to", r->other ? r->other->number : "?",
               hd_cli_enum_word(k, sizeof(k), &helpdesk__v1__link_kind__descriptor, req.kind));
    }
    return HD_CLI_EXIT_OK;
}

/* --- drafts ------------------------------------------------------------------------- */

static int draft_ids(hd_cli *cli, const hd_cli_args *a, uint64_t *ticket, uint64_t *draft)
{
    int rc = ticket_id(cli, hd_cli_pos(a, 0), ticket);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_parse_id(cli, hd_cli_pos(a, 1), "DRAFT_ID", draft);
}

static const hd_cli_opt edit_draft_opts[] = {
    {"body", "TEXT", "the draft's new text (else --body-file; neither keeps its text)"},
    {"body-file", "FILE", "read the new text from FILE (- = stdin)"},
    {"status", "S", "status after sending: pending, open or solved (default: keep)"},
    {"attach", "FILE", "the draft's files become these (repeatable; at most 10, 10 MiB each)"},
    {"clear-attachments", NULL, "remove the draft's files"},
    {0},
};

static int ticket_edit_draft(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__UpdateDraftRequest req = HELPDESK__V1__UPDATE_DRAFT_REQUEST__INIT;
    int rc, v;
    rc = hd_cli_arg_enum(cli, a, "status", &helpdesk__v1__ticket_status__descriptor, 0, &v);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    req.status_after = (Helpdesk__V1__TicketStatus)v;
    const char *const *files = hd_cli_arg_list(a, "attach", &req.n_attachments);
    int clear = hd_cli_flag(a, "clear-attachments");
    if (clear && req.n_attachments)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "give --attach or --clear-attachments, not both");
    req.replace_attachments = clear || req.n_attachments;
    rc = draft_ids(cli, a, &req.ticket_id, &req.draft_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (hd_cli_arg(a, "body") || hd_cli_arg(a, "body-file")) {
        rc = read_body(cli, a, hd_cli_pos(a, 0), "draft", &req.body);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    } else if (!req.status_after && !req.replace_attachments) {
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "nothing to change: give --body, --body-file, --status, --attach or "
                           "--clear-attachments");
    } /* else the server keeps the draft's text */
    if (req.n_attachments) {
        rc = upload_files(cli, files, req.n_attachments, &req.attachments);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    }
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "UpdateDraft", &req.base,
                     &helpdesk__v1__reply_to_ticket_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__ReplyToTicketResponse *r = (const Helpdesk__V1__ReplyToTicketResponse *)m;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    if (hd_cli_quiet(cli))
        printf("%" PRIu64 "\n", req.draft_id);
    else
        printf("draft %" PRIu64 " saved on %s (%zu attachment%s)\n", req.draft_id,
               r->ticket ? r->ticket->number : "?", r->draft ? r->draft->n_attachments : 0,
               r->draft && r->draft->n_attachments == 1 ? "" : "s");
    return HD_CLI_EXIT_OK;
}

static int ticket_send_draft(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__SendDraftRequest req = HELPDESK__V1__SEND_DRAFT_REQUEST__INIT;
    int rc = draft_ids(cli, a, &req.ticket_id, &req.draft_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "SendDraft", &req.base,
                     &helpdesk__v1__reply_to_ticket_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__ReplyToTicketResponse *r = (const Helpdesk__V1__ReplyToTicketResponse *)m;
    if (hd_cli_print_json(cli, m))
        return HD_CLI_EXIT_OK;
    if (hd_cli_quiet(cli))
        printf("%" PRIu64 "\n", r->message ? r->message->id : 0);
    else
        printf("draft %" PRIu64 " sent on %s (message %" PRIu64 ")\n", req.draft_id,
               r->ticket ? r->ticket->number : "?", r->message ? r->message->id : 0);
    return HD_CLI_EXIT_OK;
}

static int ticket_discard_draft(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__DiscardDraftRequest req = HELPDESK__V1__DISCARD_DRAFT_REQUEST__INIT;
    int rc = draft_ids(cli, a, &req.ticket_id, &req.draft_id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    ProtobufCMessage *m;
    rc = hd_cli_call(cli, SVC "DiscardDraft", &req.base,
                     &helpdesk__v1__discard_draft_response__descriptor, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (!hd_cli_print_json(cli, m) && !hd_cli_quiet(cli))
        printf("draft %" PRIu64 " discarded\n", req.draft_id);
    return HD_CLI_EXIT_OK;
}

/* --- the table ---------------------------------------------------------------------- */

static const hd_cli_cmd ticket_cmds[] = {
    {"list", "List tickets, newest first, with filters and paging",
     "[--status S] [--priority P] [--assignee ID|me] [--tag TAG] [--sort ORDER] [--limit N|--all]",
     list_opts, "helpdesk ticket list --status open --priority high --assignee me --sort updated",
     ticket_list, 0, 0},
    {"create", "Open a ticket with its first message",
     "--subject TEXT [--body TEXT|--body-file FILE] --customer EMAIL [flags]", create_opts,
     "helpdesk ticket create --customer ada@example.com --subject 'Printer on fire' --body 'Help'",
     ticket_create, 0, 0},
    {"show", "Print a ticket with its messages, notes and timeline in order", "TICKET", NULL,
     "helpdesk ticket show TKT-000042", ticket_show, 1, 1},
    {"update", "Change a ticket's subject, priority, status, category, tags or fields",
     "TICKET [flags]", update_opts, "helpdesk ticket update TKT-000042 --priority urgent --tag vip",
     ticket_update, 1, 1},
    {"reply", "Post a public reply (or save a draft)", "TICKET [--body TEXT|--body-file FILE]",
     reply_opts,
     "helpdesk ticket reply TKT-000042 --body 'We are on it.' --status pending --attach log.txt",
     ticket_reply, 1, 1},
    {"edit-draft", "Change a saved reply draft's text, status or files",
     "TICKET DRAFT_ID [--body TEXT|--body-file FILE] [--attach FILE|--clear-attachments]",
     edit_draft_opts, "helpdesk ticket edit-draft TKT-000042 7 --attach invoice-v2.pdf",
     ticket_edit_draft, 2, 2},
    {"send-draft", "Send a saved reply draft", "TICKET DRAFT_ID", NULL,
     "helpdesk ticket send-draft TKT-000042 7", ticket_send_draft, 2, 2},
    {"discard-draft", "Discard a saved reply draft", "TICKET DRAFT_ID", NULL,
     "helpdesk ticket discard-draft TKT-000042 7", ticket_discard_draft, 2, 2},
    {"note", "Add an internal note (staff only)", "TICKET [--body TEXT|--body-file FILE]",
     note_opts, "echo 'Checked the logs, @bob please look' | helpdesk ticket note TKT-000042",
     ticket_note, 1, 1},
    {"solve", "Mark a ticket solved", "TICKET", NULL, "helpdesk ticket solve TKT-000042",
     ticket_solve, 1, 1},
    {"close", "Close a ticket (final: later messages open a follow-up)", "TICKET", NULL,
     "helpdesk ticket close TKT-000042", ticket_close, 1, 1},
    {"reopen", "Reopen a pending or solved ticket", "TICKET", NULL,
     "helpdesk ticket reopen TKT-000042", ticket_reopen, 1, 1},
    {"rate", "Rate a solved ticket (customer tokens)", "TICKET --score N [--comment TEXT]",
     rate_opts, "helpdesk ticket rate TKT-000042 --score 5 --comment 'Quick and kind'", ticket_rate,
     1, 1},
    {"assign", "Assign a ticket to a staff member and/or group, or auto-assign",
     "TICKET [--to ID|me] [--group ID] [--auto] [--none]", assign_opts,
     "helpdesk ticket assign TKT-000042 --to me", ticket_assign, 1, 1},
    {"escalate", "Escalate a ticket to a manager or group", "TICKET --reason R [flags]",
     escalate_opts,
     "helpdesk ticket escalate TKT-000042 --reason sla-risk --group 2 --priority urgent",
     ticket_escalate, 1, 1},
    {"merge", "Merge a ticket into another (messages and notes move)", "TICKET --into TICKET",
     merge_opts, "helpdesk ticket merge TKT-000043 --into TKT-000042", ticket_merge, 1, 1},
    {"link", "Link two tickets (or remove the link)", "TICKET OTHER [--kind K] [--remove]",
     link_opts, "helpdesk ticket link TKT-000042 TKT-000017 --kind related", ticket_link, 2, 2},
    {"watch", "Stream ticket events until interrupted (Ctrl-C: exit 130, SIGTERM: 143)",
     "[--assignee ID|me] [--group ID]", watch_opts, "helpdesk ticket watch --assignee me",
     ticket_watch, 0, 0},
    {0},
};

HD_CLI_GROUP(ticket, "Create, list, show and work on tickets", ticket_cmds)
