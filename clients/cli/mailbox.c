/* `helpdesk mailbox ...`: the email channel's mailboxes and outgoing mail queue
 * (MailService, admin only). Every Mailbox field has a flag; passwords come from a file,
 * stdin or a terminal prompt, never from the command line (argv is visible to every user
 * of the machine through ps and /proc):
 *
 *     printf '%s\n' "$PW" | helpdesk mailbox add --name Support \
 *         --imap-url imaps://imap.example.com:993 --user support --password-file - \
 *         --smtp-url smtp://smtp.example.com:587 --from-address support@example.com
 *     helpdesk mailbox update 1 --reopen-grace 7d --poll-interval 2m
 *     helpdesk mailbox test 1 && helpdesk mailbox outbox --dead
 *
 * update sends only the fields whose flags were given (the request's update_mask). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "clients/cli/cli.h"
#include "clients/cli/mailbox_flags.h"
#include "helpdesk/v1/mail.pb-c.h"

#define SVC "/helpdesk.v1.MailService/"

/* Exit code of `mailbox test` when the server answered but IMAP (or a configured SMTP)
 * did not work: the settings or the mail server are at fault, not the call. */
#define EXIT_TEST_FAILED 9

/* Most bytes of an acknowledgement template file. */
#define ACK_TEMPLATE_MAX (64 * 1024)

/* Longest poll interval the server accepts, seconds. */
#define POLL_MAX_S 86400

/* Page size used to follow ListOutbox pages under --all. */
#define OUTBOX_PAGE_MAX 1000

/* --- reading secrets ----------------------------------------------------------------- */

/* Reads a secret from FILE ("-" = stdin) into arena memory. Returns an exit code. */
static int secret_from_file(hd_cli *cli, const char *flag, const char *path, char **out)
{
    char buf[HD_CLI_SECRET_MAX + 2];
    const char *why = NULL;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--%s %s: %s", flag, path, strerror(errno));
    int rc = hd_cli_read_secret(f, buf, sizeof(buf), &why);
    if (f != stdin)
        fclose(f);
    if (rc != 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--%s %s: the password %s", flag,
                           strcmp(path, "-") == 0 ? "(stdin)" : path, why);
    *out = hd_arena_strdup(hd_cli_arena(cli), buf);
    explicit_bzero(buf, sizeof(buf));
    return *out ? HD_CLI_EXIT_OK : hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
}

/* Prompts on the terminal (/dev/tty, echo off) for a secret. Returns an exit code. */
static int secret_from_prompt(hd_cli *cli, const char *flag, const char *prompt, char **out)
{
    char buf[HD_CLI_SECRET_MAX + 2];
    const char *why = NULL;
    struct termios old, quiet;
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "--%s: no terminal to ask on; use --%s-file FILE (- = stdin)", flag,
                           strncmp(flag, "ask-", 4) == 0 ? flag + 4 : flag);
    FILE *f = fdopen(fd, "r+");
    if (!f) {
        close(fd);
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    }
    int have_tc = tcgetattr(fd, &old) == 0;
    if (have_tc) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    fprintf(f, "%s", prompt);
    fflush(f);
    int rc = hd_cli_read_secret(f, buf, sizeof(buf), &why);
    if (have_tc)
        tcsetattr(fd, TCSAFLUSH, &old);
    fprintf(f, "\n");
    fclose(f);
    if (rc != 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s: the password %s", flag, why);
    *out = hd_arena_strdup(hd_cli_arena(cli), buf);
    explicit_bzero(buf, sizeof(buf));
    return *out ? HD_CLI_EXIT_OK : hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
}

/* The secret named by --<file_flag> or --<ask_flag> (one of them at most) into *out;
 * *out stays NULL when neither was given. Returns an exit code. */
static int read_password(hd_cli *cli, const hd_cli_args *a, const char *file_flag,
                         const char *ask_flag, const char *prompt, char **out)
{
    const char *file = hd_cli_arg(a, file_flag);
    *out = NULL;
    if (file && hd_cli_flag(a, ask_flag))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "give --%s or --%s, not both", file_flag,
                           ask_flag);
    if (file)
        return secret_from_file(cli, file_flag, file, out);
    if (hd_cli_flag(a, ask_flag))
        return secret_from_prompt(cli, ask_flag, prompt, out);
    return HD_CLI_EXIT_OK;
}

/* --- building a Mailbox from flags --------------------------------------------------- */

/* Reads a whole small file into arena memory (the acknowledgement template). */
static int read_text_file(hd_cli *cli, const char *flag, const char *path, char **out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--%s %s: %s", flag, path, strerror(errno));
    char *buf = hd_arena_alloc(hd_cli_arena(cli), ACK_TEMPLATE_MAX + 1);
    size_t n = buf ? fread(buf, 1, ACK_TEMPLATE_MAX + 1, f) : 0;
    int bad = ferror(f);
    if (f != stdin)
        fclose(f);
    if (!buf)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    if (bad)
        return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--%s %s: read error", flag, path);
    if (n > ACK_TEMPLATE_MAX)
        return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--%s %s: longer than %d bytes", flag, path,
                           ACK_TEMPLATE_MAX);
    if (memchr(buf, '\0', n))
        return hd_cli_fail(cli, HD_CLI_EXIT_INVALID, "--%s %s: contains a NUL byte", flag, path);
    buf[n] = '\0';
    *out = buf;
    return HD_CLI_EXIT_OK;
}

static int onoff_flag(hd_cli *cli, const hd_cli_args *a, const char *name, protobuf_c_boolean *out)
{
    const char *v = hd_cli_arg(a, name);
    int b;
    if (!v)
        return HD_CLI_EXIT_OK;
    if (hd_cli_parse_onoff(v, &b) != 0)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--%s: want on or off, got \"%s\"", name, v);
    *out = b;
    return HD_CLI_EXIT_OK;
}

static void str_flag(const hd_cli_args *a, const char *name, char **out)
{
    const char *v = hd_cli_arg(a, name);
    if (v)
        *out = (char *)v;
}

/* How many of the file flags read stdin ("-"): stdin can feed only one of them. */
static int stdin_readers(const hd_cli_args *a)
{
    static const char *const files[] = {"password-file", "smtp-password-file", "ack-template-file"};
    int n = 0;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const char *v = hd_cli_arg(a, files[i]);
        n += v && strcmp(v, "-") == 0;
    }
    return n;
}

/* Sets every field of m whose flag was given; the rest keep their values. Returns an exit
 * code (the error line printed). */
static int mailbox_from_flags(hd_cli *cli, const hd_cli_args *a, Helpdesk__V1__Mailbox *m)
{
    uint64_t v;
    int rc, e;
    str_flag(a, "name", &m->name);
    str_flag(a, "imap-url", &m->imap_url);
    str_flag(a, "user", &m->imap_username);
    str_flag(a, "folder", &m->folder);
    str_flag(a, "category", &m->category);
    str_flag(a, "processed-folder", &m->processed_folder);
    str_flag(a, "ca-file", &m->ca_file);
    str_flag(a, "ack-template", &m->ack_template);
    str_flag(a, "smtp-url", &m->smtp_url);
    str_flag(a, "smtp-user", &m->smtp_username);
    str_flag(a, "from-address", &m->from_address);
    str_flag(a, "from-name", &m->from_name);
    if (hd_cli_arg(a, "ack-template") && hd_cli_arg(a, "ack-template-file"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "give --ack-template or --ack-template-file, not both");
    if (hd_cli_arg(a, "ack-template-file")) {
        rc = read_text_file(cli, "ack-template-file", hd_cli_arg(a, "ack-template-file"),
                            &m->ack_template);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    }
    if (hd_cli_arg(a, "poll-interval")) {
        if (hd_cli_parse_seconds(hd_cli_arg(a, "poll-interval"), POLL_MAX_S, &v) != 0 || v == 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--poll-interval: want 1s-24h (e.g. 60, 90s, 5m), got \"%s\"",
                               hd_cli_arg(a, "poll-interval"));
        m->poll_interval_seconds = (uint32_t)v;
    }
    if (hd_cli_arg(a, "reopen-grace")) {
        if (hd_cli_parse_seconds(hd_cli_arg(a, "reopen-grace"), UINT32_MAX, &v) != 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--reopen-grace: want a duration (0, 3600, 30m, 7d), got \"%s\"",
                               hd_cli_arg(a, "reopen-grace"));
        m->reopen_grace_seconds = (uint32_t)v;
    }
    if (hd_cli_arg(a, "max-message-size")) {
        if (hd_cli_parse_bytes(hd_cli_arg(a, "max-message-size"), &v) != 0)
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "--max-message-size: want bytes (e.g. 26214400, 25M), got \"%s\"",
                               hd_cli_arg(a, "max-message-size"));
        m->max_message_bytes = v;
    }
    if (hd_cli_arg(a, "group")) {
        rc = hd_cli_arg_u64(cli, a, "group", 0, &v);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        m->group_id = v;
    }
    rc = hd_cli_arg_enum(cli, a, "priority", &helpdesk__v1__priority__descriptor, m->priority, &e);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    m->priority = (Helpdesk__V1__Priority)e;
    rc = hd_cli_arg_enum(cli, a, "after-fetch", &helpdesk__v1__after_fetch__descriptor,
                         m->after_fetch, &e);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    m->after_fetch = (Helpdesk__V1__AfterFetch)e;
    /* A processed folder alone means "move there". */
    if (hd_cli_arg(a, "processed-folder") && *hd_cli_arg(a, "processed-folder") &&
        !hd_cli_arg(a, "after-fetch"))
        m->after_fetch = HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_MOVE;
    if ((rc = onoff_flag(cli, a, "mail-tls", &m->tls)) != HD_CLI_EXIT_OK ||
        (rc = onoff_flag(cli, a, "ack", &m->acknowledge)) != HD_CLI_EXIT_OK ||
        (rc = onoff_flag(cli, a, "enabled", &m->enabled)) != HD_CLI_EXIT_OK)
        return rc;
    if (stdin_readers(a) > 1)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "--password-file, --smtp-password-file, --ack-template-file: only "
                           "one of them may read stdin (-); give the others a file");
    char *pw = NULL;
    rc = read_password(cli, a, "password-file", "ask-password", "IMAP password: ", &pw);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (pw)
        m->imap_password = pw;
    rc = read_password(cli, a, "smtp-password-file", "ask-smtp-password", "SMTP password: ", &pw);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (pw)
        m->smtp_password = pw;
    return HD_CLI_EXIT_OK;
}

static int parse_mailbox_id(hd_cli *cli, const hd_cli_args *a, uint64_t *id)
{
    return hd_cli_parse_id(cli, hd_cli_pos(a, 0), "MAILBOX_ID", id);
}

/* --- add, update, remove ------------------------------------------------------------- */

static int mailbox_add(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__Mailbox m = HELPDESK__V1__MAILBOX__INIT;
    Helpdesk__V1__AddMailboxRequest req = HELPDESK__V1__ADD_MAILBOX_REQUEST__INIT;
    ProtobufCMessage *resp;
    m.tls = 1; /* secure unless told otherwise */
    m.enabled = 1;
    int rc = mailbox_from_flags(cli, a, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (!hd_cli_arg(a, "name") || !hd_cli_arg(a, "imap-url"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                           "mailbox add: --name and --imap-url are required");
    /* A user without a password source: ask on a terminal, as ssh and psql do. */
    if (*m.imap_username && !*m.imap_password && isatty(STDIN_FILENO)) {
        rc = secret_from_prompt(cli, "ask-password", "IMAP password: ", &m.imap_password);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    }
    req.mailbox = &m;
    rc = hd_cli_call(cli, SVC "AddMailbox", &req.base, &helpdesk__v1__mailbox__descriptor, &resp);
    return rc != HD_CLI_EXIT_OK ? rc : hd_cli_print_message(cli, resp, "id");
}

static int mailbox_update(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__Mailbox m = HELPDESK__V1__MAILBOX__INIT;
    Helpdesk__V1__UpdateMailboxRequest req = HELPDESK__V1__UPDATE_MAILBOX_REQUEST__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    ProtobufCMessage *resp;
    const char *paths[32];
    size_t n = 0;
    int rc = parse_mailbox_id(cli, a, &m.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = mailbox_from_flags(cli, a, &m);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    /* The mask: one path per field some given flag sets, once each. */
    for (size_t i = 0; hd_cli_mailbox_flag_at(i); i++) {
        const char *flag = hd_cli_mailbox_flag_at(i);
        const char *field = hd_cli_mailbox_field_of(flag);
        int dup = 0;
        if (!hd_cli_flag(a, flag))
            continue;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(paths[k], field) == 0;
        if (!dup && n < sizeof(paths) / sizeof(paths[0]))
            paths[n++] = field;
    }
    /* --processed-folder alone also switches after_fetch to MOVE (mailbox_from_flags). */
    if (m.after_fetch == HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_MOVE &&
        !hd_cli_flag(a, "after-fetch"))
        paths[n++] = "after_fetch";
    if (n == 0)
        return hd_cli_fail(
            cli, HD_CLI_EXIT_USAGE,
            "mailbox update: nothing to change (see `helpdesk mailbox update --help`)");
    mask.paths = (char **)paths;
    mask.n_paths = n;
    req.mailbox = &m;
    req.update_mask = &mask;
    rc =
        hd_cli_call(cli, SVC "UpdateMailbox", &req.base, &helpdesk__v1__mailbox__descriptor, &resp);
    return rc != HD_CLI_EXIT_OK ? rc : hd_cli_print_message(cli, resp, "id");
}

static int mailbox_remove(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__RemoveMailboxRequest req = HELPDESK__V1__REMOVE_MAILBOX_REQUEST__INIT;
    ProtobufCMessage *resp;
    int rc = parse_mailbox_id(cli, a, &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    rc = hd_cli_call(cli, SVC "RemoveMailbox", &req.base,
                     &helpdesk__v1__remove_mailbox_response__descriptor, &resp);
    if (rc != HD_CLI_EXIT_OK || hd_cli_print_json(cli, resp))
        return rc;
    if (hd_cli_quiet(cli))
        printf("%llu\n", (unsigned long long)req.id);
    else
        printf("removed mailbox %llu\n", (unsigned long long)req.id);
    return HD_CLI_EXIT_OK;
}

/* --- list, show ---------------------------------------------------------------------- */

static int list_call(hd_cli *cli, Helpdesk__V1__ListMailboxesResponse **out)
{
    Helpdesk__V1__ListMailboxesRequest req = HELPDESK__V1__LIST_MAILBOXES_REQUEST__INIT;
    ProtobufCMessage *resp;
    int rc = hd_cli_call(cli, SVC "ListMailboxes", &req.base,
                         &helpdesk__v1__list_mailboxes_response__descriptor, &resp);
    *out = (Helpdesk__V1__ListMailboxesResponse *)resp;
    return rc;
}

static const Helpdesk__V1__MailboxState *state_of(const Helpdesk__V1__ListMailboxesResponse *r,
                                                  size_t i)
{
    return i < r->n_states ? r->states[i] : NULL;
}

static int mailbox_list(hd_cli *cli, const hd_cli_args *a)
{
    (void)a;
    Helpdesk__V1__ListMailboxesResponse *r;
    char when[64];
    int rc = list_call(cli, &r);
    if (rc != HD_CLI_EXIT_OK || hd_cli_print_json(cli, &r->base))
        return rc;
    if (hd_cli_quiet(cli)) {
        for (size_t i = 0; i < r->n_mailboxes; i++)
            printf("%llu\n", (unsigned long long)r->mailboxes[i]->id);
        return HD_CLI_EXIT_OK;
    }
    static const char *const heads[] = {"ID",       "NAME",      "IMAP",      "USER",
                                        "FOLDER",   "ENABLED",   "LAST POLL", "INGESTED",
                                        "REJECTED", "LAST ERROR"};
    hd_cli_table *t = hd_cli_table_new(heads, 10, hd_cli_color(cli));
    if (!t)
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    int64_t now = hd_cli_now_ms(cli);
    int bad = 0;
    for (size_t i = 0; i < r->n_mailboxes; i++) {
        const Helpdesk__V1__Mailbox *m = r->mailboxes[i];
        const Helpdesk__V1__MailboxState *st = state_of(r, i);
        int64_t polled = st && st->last_poll_time ? st->last_poll_time->seconds * 1000 : 0;
        const char *err = st && *st->last_error ? st->last_error : "-";
        bad |= hd_cli_table_cellf(t, HD_CLI_STYLE_BOLD, "%llu", (unsigned long long)m->id);
        bad |= hd_cli_table_cell(t, m->name, 0);
        bad |= hd_cli_table_cell(t, m->imap_url, 0);
        bad |= hd_cli_table_cell(t, *m->imap_username ? m->imap_username : "-", 0);
        bad |= hd_cli_table_cell(t, m->folder, 0);
        bad |= hd_cli_table_cell(t, m->enabled ? "yes" : "no",
                                 m->enabled ? HD_CLI_STYLE_GREEN : HD_CLI_STYLE_DIM);
        bad |= hd_cli_table_cell(t, hd_cli_reltime(when, sizeof(when), polled, now), 0);
        bad |=
            hd_cli_table_cellf(t, 0, "%llu", (unsigned long long)(st ? st->messages_ingested : 0));
        bad |=
            hd_cli_table_cellf(t, 0, "%llu", (unsigned long long)(st ? st->messages_rejected : 0));
        bad |= hd_cli_table_cell(t, err, *err != '-' ? HD_CLI_STYLE_RED : 0);
    }
    if (bad) {
        hd_cli_table_free(t);
        return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
    }
    hd_cli_table_print(t, stdout);
    hd_cli_table_free(t);
    return HD_CLI_EXIT_OK;
}

static int mailbox_show(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListMailboxesResponse *r;
    uint64_t id;
    int rc = parse_mailbox_id(cli, a, &id);
    if (rc == HD_CLI_EXIT_OK)
        rc = list_call(cli, &r);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    for (size_t i = 0; i < r->n_mailboxes; i++) {
        const Helpdesk__V1__Mailbox *m = r->mailboxes[i];
        const Helpdesk__V1__MailboxState *st = state_of(r, i);
        if (m->id != id)
            continue;
        if (hd_cli_json(cli)) {
            /* {"mailbox": <Mailbox>, "state": <MailboxState>}, both in proto3 JSON. */
            json_t *o = json_object();
            json_t *jm = hd_cli_json_message(&m->base);
            json_t *js = st ? hd_cli_json_message(&st->base) : json_object();
            if (!o || !jm || !js || json_object_set_new(o, "mailbox", jm) != 0 ||
                json_object_set_new(o, "state", js) != 0) {
                json_decref(o);
                return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
            }
            hd_cli_json_dump(stdout, o);
            json_decref(o);
            return HD_CLI_EXIT_OK;
        }
        if (hd_cli_quiet(cli)) {
            printf("%llu\n", (unsigned long long)m->id);
            return HD_CLI_EXIT_OK;
        }
        hd_cli_fields_print(stdout, &m->base, hd_cli_now_ms(cli), hd_cli_color(cli));
        if (st) {
            printf("fetch state\n");
            hd_cli_fields_print(stdout, &st->base, hd_cli_now_ms(cli), hd_cli_color(cli));
        }
        return HD_CLI_EXIT_OK;
    }
    return hd_cli_fail(cli, HD_CLI_EXIT_NOT_FOUND, "not found: mailbox %llu",
                       (unsigned long long)id);
}

/* --- test ---------------------------------------------------------------------------- */

static int mailbox_test(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__TestMailboxRequest req = HELPDESK__V1__TEST_MAILBOX_REQUEST__INIT;
    Helpdesk__V1__Mailbox m = HELPDESK__V1__MAILBOX__INIT;
    ProtobufCMessage *resp;
    int rc;
    if (hd_cli_npos(a) == 1) {
        /* A stored mailbox is tested as stored: settings flags would be silently ignored. */
        for (size_t i = 0; hd_cli_mailbox_flag_at(i); i++)
            if (hd_cli_flag(a, hd_cli_mailbox_flag_at(i)))
                return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                                   "mailbox test: give MAILBOX_ID or settings flags, not both "
                                   "(--%s)",
                                   hd_cli_mailbox_flag_at(i));
        rc = parse_mailbox_id(cli, a, &req.id);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
    } else {
        /* Unsaved settings: the same flags as add. */
        m.tls = 1;
        static char unsaved[] = "unsaved";
        m.name = unsaved;
        rc = mailbox_from_flags(cli, a, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        if (!hd_cli_arg(a, "imap-url"))
            return hd_cli_fail(cli, HD_CLI_EXIT_USAGE,
                               "mailbox test: give MAILBOX_ID or --imap-url with the settings");
        req.mailbox = &m;
    }
    /* The server gives IMAP and SMTP 15 s each. */
    rc = hd_cli_call(cli, SVC "TestMailbox", &req.base,
                     &helpdesk__v1__test_mailbox_response__descriptor, &resp);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    const Helpdesk__V1__TestMailboxResponse *t = (const Helpdesk__V1__TestMailboxResponse *)resp;
    int smtp_tried = t->smtp_ok || *t->smtp_error;
    int ok = t->imap_ok && (!smtp_tried || t->smtp_ok);
    if (!hd_cli_print_json(cli, resp) && !hd_cli_quiet(cli)) {
        int color = hd_cli_color(cli);
        const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "";
        const char *off = color ? "\033[0m" : "";
        if (t->imap_ok)
            printf("imap  %sok%s  (UIDVALIDITY %u, %u messages)\n", green, off, t->uid_validity,
                   t->messages);
        else
            printf("imap  %sFAILED%s  %s\n", red, off, t->imap_error);
        if (!smtp_tried)
            printf("smtp  not configured\n");
        else if (t->smtp_ok)
            printf("smtp  %sok%s\n", green, off);
        else
            printf("smtp  %sFAILED%s  %s\n", red, off, t->smtp_error);
    }
    if (!ok)
        fprintf(stderr, "error: mailbox test failed: %s\n",
                !t->imap_ok ? "IMAP did not work" : "SMTP did not work");
    return ok ? HD_CLI_EXIT_OK : EXIT_TEST_FAILED;
}

/* --- outbox -------------------------------------------------------------------------- */

/* Sent mail leaves the queue (the outbox worker deletes it), so there is no --sent. */
static int mailbox_outbox(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__ListOutboxRequest req = HELPDESK__V1__LIST_OUTBOX_REQUEST__INIT;
    Helpdesk__V1__ListOutboxResponse all = HELPDESK__V1__LIST_OUTBOX_RESPONSE__INIT;
    hd_arena *ar = hd_cli_arena(cli);
    uint64_t limit = 0;
    if (hd_cli_flag(a, "dead") && hd_cli_flag(a, "pending"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "give --dead or --pending, not both");
    if (hd_cli_flag(a, "all") && hd_cli_arg(a, "limit"))
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--all and --limit exclude each other");
    int rc = hd_cli_arg_u64(cli, a, "limit", 100, &limit);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    if (limit < 1 || limit > OUTBOX_PAGE_MAX)
        return hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "--limit: 1-%d", OUTBOX_PAGE_MAX);
    if (hd_cli_flag(a, "dead"))
        req.state = HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_DEAD;
    else if (hd_cli_flag(a, "pending"))
        req.state = HELPDESK__V1__OUTBOX_STATE__OUTBOX_STATE_PENDING;
    req.page_size = hd_cli_flag(a, "all") ? OUTBOX_PAGE_MAX : (int32_t)limit;
    req.page_token = (char *)(hd_cli_arg(a, "page-token") ? hd_cli_arg(a, "page-token") : "");
    /* Pages are appended into one response so --json prints a single document. */
    for (;;) {
        ProtobufCMessage *resp;
        rc = hd_cli_call(cli, SVC "ListOutbox", &req.base,
                         &helpdesk__v1__list_outbox_response__descriptor, &resp);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        Helpdesk__V1__ListOutboxResponse *r = (Helpdesk__V1__ListOutboxResponse *)resp;
        Helpdesk__V1__OutboxMessage **v =
            hd_arena_calloc(ar, all.n_messages + r->n_messages + 1, sizeof(*v));
        if (!v)
            return hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        if (all.n_messages)
            memcpy(v, all.messages, all.n_messages * sizeof(*v));
        if (r->n_messages)
            memcpy(v + all.n_messages, r->messages, r->n_messages * sizeof(*v));
        all.messages = v;
        all.n_messages += r->n_messages;
        all.next_page_token = r->next_page_token;
        if (!hd_cli_flag(a, "all") || !*r->next_page_token)
            break;
        req.page_token = r->next_page_token;
    }
    static const char *const cols[] = {
        "id",        "kind", "state", "ticket_number", "to", "attempts", "next_attempt_time",
        "last_error"};
    rc = hd_cli_print_list(cli, &all.base, (const ProtobufCMessage *const *)all.messages,
                           all.n_messages, cols, 8, "id");
    if (rc == HD_CLI_EXIT_OK && *all.next_page_token && !hd_cli_json(cli))
        fprintf(stderr, "more: --page-token %s (or --all)\n", all.next_page_token);
    return rc;
}

static int mailbox_retry(hd_cli *cli, const hd_cli_args *a)
{
    Helpdesk__V1__RetryOutboxRequest req = HELPDESK__V1__RETRY_OUTBOX_REQUEST__INIT;
    int rc = hd_cli_parse_id(cli, hd_cli_pos(a, 0), "OUTBOX_ID", &req.id);
    if (rc != HD_CLI_EXIT_OK)
        return rc;
    return hd_cli_call_print(cli, SVC "RetryOutbox", &req.base,
                             &helpdesk__v1__outbox_message__descriptor, "id");
}

/* --- the table ----------------------------------------------------------------------- */

#define MAILBOX_FIELD_OPTS                                                                         \
    {"imap-url", "URL", "imap://host:port (STARTTLS) or imaps://host:port"},                       \
        {"user", "NAME", "IMAP user name"},                                                        \
        {"password-file", "FILE", "read the IMAP password from FILE's first line (- = stdin)"},    \
        {"ask-password", NULL, "prompt for the IMAP password on the terminal"},                    \
        {"folder", "NAME", "folder to poll (default INBOX)"},                                      \
        {"poll-interval", "DUR", "time between polls: 60, 90s, 5m (1s-24h; default 60s)"},         \
        {"group", "ID", "group new tickets go to (0 = none)"},                                     \
        {"category", "NAME", "category of new tickets"},                                           \
        {"priority", "P", "priority of new tickets (default normal)"},                             \
        {"mail-tls", "on|off",                                                                     \
         "require TLS for IMAP and SMTP (default on; off sends the password in clear)"},           \
        {"ca-file", "PATH",                                                                        \
         "PEM CA file the IMAP server's certificate must verify against "                          \
         "(server-side path; default the system store)"},                                          \
        {"after-fetch", "seen|move", "mark fetched mail seen, or move it to --processed-folder"},  \
        {"processed-folder", "NAME", "folder fetched mail moves to (implies --after-fetch move)"}, \
        {"max-message-size", "SIZE", "largest message taken: bytes or 25M, 512K (default 25M)"},   \
        {"ack", "on|off", "acknowledge new tickets by mail"},                                      \
        {"ack-template", "TEXT", "acknowledgement text; {{number}} and {{subject}} replaced"},     \
        {"ack-template-file", "FILE", "read the acknowledgement text from FILE (- = stdin)"},      \
        {"smtp-url", "URL", "smtp://host:port (STARTTLS) or smtps://host:port for replies"},       \
        {"smtp-user", "NAME", "SMTP user name (none = no SMTP login)"},                            \
        {"smtp-password-file", "FILE", "read the SMTP password from FILE (- = stdin)"},            \
        {"ask-smtp-password", NULL, "prompt for the SMTP password on the terminal"},               \
        {"from-address", "ADDR", "address replies come from (required with --smtp-url)"},          \
        {"from-name", "NAME", "display name replies come from"},                                   \
        {"enabled", "on|off", "poll this mailbox (default on)"},                                   \
    {                                                                                              \
        "reopen-grace", "DUR", "a reply this soon after closing reopens: 0, 3600, 30m, 7d"         \
    }

static const hd_cli_opt add_opts[] = {
    {"name", "NAME", "display name, 1-64 characters (required)"},
    MAILBOX_FIELD_OPTS,
    {0},
};

static const hd_cli_opt update_opts[] = {
    {"name", "NAME", "display name, 1-64 characters"},
    MAILBOX_FIELD_OPTS,
    {0},
};

static const hd_cli_opt outbox_opts[] = {
    {"dead", NULL, "only dead letters (gave up; `mailbox retry ID` sends again)"},
    {"pending", NULL, "only mail waiting for its next attempt"},
    {"limit", "N", "at most N entries (1-1000, default 100)"},
    {"all", NULL, "every entry, following page tokens"},
    {"page-token", "TOKEN", "continue a previous listing"},
    {0},
};

static const hd_cli_cmd mailbox_cmds[] = {
    {"list", "Mailboxes with their fetch state", "", NULL, "helpdesk mailbox list", mailbox_list, 0,
     0},
    {"show", "One mailbox's settings and fetch state (never its passwords)", "MAILBOX_ID", NULL,
     "helpdesk mailbox show 1", mailbox_show, 1, 1},
    {"add", "Add a mailbox to poll (and send replies from)",
     "--name NAME --imap-url URL [--user NAME --password-file FILE|-] ...", add_opts,
     "helpdesk mailbox add --name Support --imap-url imaps://imap.example.com --user support "
     "--password-file ~/.imap-pass --reopen-grace 7d",
     mailbox_add, 0, 0},
    {"update", "Change the settings given as flags", "MAILBOX_ID [--FIELD VALUE ...]", update_opts,
     "helpdesk mailbox update 1 --poll-interval 5m --enabled off", mailbox_update, 1, 1},
    {"remove", "Remove a mailbox with its fetch state", "MAILBOX_ID", NULL,
     "helpdesk mailbox remove 1", mailbox_remove, 1, 1},
    {"test", "Log in to IMAP (and SMTP) with a mailbox's settings",
     "MAILBOX_ID | --imap-url URL [--user NAME --password-file FILE|-] ...", update_opts,
     "helpdesk mailbox test 1", mailbox_test, 0, 1},
    {"outbox", "Outgoing mail that is pending or dead-lettered",
     "[--dead|--pending] [--limit N|--all]", outbox_opts, "helpdesk mailbox outbox --dead",
     mailbox_outbox, 0, 0},
    {"retry", "Send a dead-lettered (or pending) mail again now", "OUTBOX_ID", NULL,
     "helpdesk mailbox retry 17", mailbox_retry, 1, 1},
    {0},
};

HD_CLI_GROUP(mailbox, "Email mailboxes (IMAP in, SMTP out) and the outgoing mail queue",
             mailbox_cmds)
