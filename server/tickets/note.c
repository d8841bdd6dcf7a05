/* Internal notes and mentions (see note.h). */
#include "server/tickets/note.h"

#include <inttypes.h>
#include <string.h>

#include "server/clock/clock.h"
#include "server/tickets/change.h"
#include "server/tickets/fields.h"

static hd_tickets_staff_lookup_fn resolver;
static void *resolver_ud;

void hd_tickets_mentions_resolver(hd_tickets_staff_lookup_fn fn, void *ud)
{
    resolver = fn;
    resolver_ud = ud;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

int hd_tickets_mentions_each(const char *body, int (*fn)(void *ud, const char *name, size_t n),
                             void *ud)
{
    const char *seen[HD_TICKETS_MENTIONS_MAX];
    size_t seen_n[HD_TICKETS_MENTIONS_MAX], n_seen = 0;
    for (const char *p = body; *p; p++) {
        if (*p != '@' || (p > body && name_char(p[-1])))
            continue;
        const char *name = p + 1;
        size_t n = 0;
        while (name_char(name[n]))
            n++;
        while (n && name[n - 1] == '.')
            n--;
        if (n == 0 || n > HD_TICKETS_MENTION_MAX)
            continue;
        bool dup = false;
        for (size_t i = 0; i < n_seen; i++)
            dup = dup || (seen_n[i] == n && memcmp(seen[i], name, n) == 0);
        if (dup)
            continue;
        if (n_seen == HD_TICKETS_MENTIONS_MAX)
            break;
        seen[n_seen] = name;
        seen_n[n_seen++] = n;
        int rc = fn(ud, name, n);
        if (rc)
            return rc;
    }
    return 0;
}

int hd_tickets_note_prepare(hd_tickets_note_args *args, hd_arena *a,
                            const Helpdesk__V1__AddNoteRequest *req, size_t body_max,
                            const hd_tickets_actor *actor, hd_err *err)
{
    memset(args, 0, sizeof(*args));
    args->arena = a;
    if (!req->ticket_id)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    int rc = hd_tickets__check_body("body", req->body, body_max, err);
    if (rc < 0)
        return rc;
    if (!hd_tickets__enum_known(&helpdesk__v1__note_visibility__descriptor, (int)req->visibility))
        return hd_err_set(err, HD_EINVAL, "visibility: unknown value %d", (int)req->visibility);
    rc = hd_tickets__check_request_id(req->request_id, err);
    if (rc < 0)
        return rc;
    args->request_id = req->request_id;
    args->ticket_id = req->ticket_id;
    args->body = req->body;
    args->visibility =
        req->visibility ? req->visibility : HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_TEAM;
    args->actor.kind = actor ? actor->kind : HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
    args->actor.id = actor ? actor->id : 0;
    args->now_ms = hd_clock_now_ms();
    return 0;
}

/* Resolving mentions while the note is built. */
typedef struct resolve_ctx {
    hd_txn *txn;
    hd_arena *a;
    Helpdesk__V1__Note *note;
    char *names; /* "@ada,@bob" for the event */
    hd_err *err;
    int rc;
} resolve_ctx;

static int resolve_one(void *ud, const char *name, size_t n)
{
    resolve_ctx *r = ud;
    Helpdesk__V1__Note *note = r->note;
    uint64_t id;
    int rc = resolver(resolver_ud, r->txn, name, n, &id, r->err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(r->err);
        return 0;
    }
    if (rc < 0) {
        r->rc = rc;
        return 1;
    }
    for (size_t i = 0; i < note->n_mention_ids; i++) {
        if (note->mention_ids[i] == id)
            return 0; /* two names of one person */
    }
    char *copy = hd_arena_strndup(r->a, name, n);
    r->names =
        copy ? hd_arena_printf(r->a, "%s%s@%s", r->names, r->names[0] ? "," : "", copy) : NULL;
    if (!copy || !r->names) {
        r->rc = hd_err_set(r->err, HD_ENOMEM, "mentions: out of memory");
        return 1;
    }
    note->mention_ids[note->n_mention_ids++] = id;
    note->mentions[note->n_mentions++] = copy;
    return 0;
}

/* ---- Idempotency ----------------------------------------------------------------------- */

/* Whether stored note n is what args asks for: a retry, not a reuse of the id. */
static bool same_note(const Helpdesk__V1__Note *n, const hd_tickets_note_args *args)
{
    return strcmp(n->body, args->body) == 0 && n->visibility == args->visibility &&
           n->author_id == args->actor.id;
}

static int id_reused(const hd_tickets_note_args *args, hd_err *err)
{
    return hd_err_set(err, HD_EINVAL,
                      "request_id \"%s\": already used for another note; a new note needs a new id",
                      args->request_id);
}

/* A retry: the note recorded under the request id (value: u64 ticket id + u64 note id,
 * big-endian, the ticket it was added to) and the ticket holding it now (merges move notes),
 * unpacked into the arena. Returns 0 (replayed), HD_ENOTFOUND (err cleared: a first call),
 * HD_EINVAL (the id names another note) or an error. */
static int load_replay(hd_txn *txn, hd_tickets_note_args *args, hd_err *err)
{
    ProtobufCMessage *m;
    Helpdesk__V1__Ticket *t = NULL;
    uint64_t ticket_id, note_id;
    hd_key k;
    int rc = hd_tickets_idem_pair_get(txn, HD_TICKETS_IDEM_NOTE, args->request_id, &ticket_id,
                                      &note_id, err);
    if (rc < 0)
        return rc;
    if (ticket_id != args->ticket_id)
        return id_reused(args, err);
    rc = hd_tickets_load_current(txn, args->arena, ticket_id, &t, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ECORRUPT, "request_id \"%s\": names missing ticket %" PRIu64,
                          args->request_id, ticket_id);
    if (rc < 0)
        return rc;
    rc = hd_store_get_msg(txn, HD_STORE_NOTES, hd_tickets_key_child(&k, t->id, note_id),
                          &helpdesk__v1__note__descriptor, args->arena, &m, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ECORRUPT,
                          "request_id \"%s\": names missing note %" PRIu64 " of ticket %" PRIu64,
                          args->request_id, note_id, t->id);
    if (rc < 0)
        return rc;
    if (!same_note((Helpdesk__V1__Note *)m, args))
        return id_reused(args, err);
    args->note = (Helpdesk__V1__Note *)m;
    args->ticket = t;
    args->replayed = true;
    return 0;
}

/* ---- The mutation ---------------------------------------------------------------------- */

int hd_tickets_note_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_note_args *args = arg;
    hd_arena *a = args->arena;
    Helpdesk__V1__Note *note;
    hd_tickets_edit e;
    hd_key k;
    int rc;

    args->note = NULL;
    args->ticket = NULL;
    args->replayed = false;
    hd_tickets_committed_reset(&args->committed);
    if (args->request_id && args->request_id[0]) {
        rc = load_replay(txn, args, err);
        if (rc != HD_ENOTFOUND)
            return rc;
    }
    rc = hd_tickets_edit_begin(&e, txn, a, args->ticket_id, &args->actor, args->now_ms,
                               &args->committed, err);
    if (rc < 0)
        return rc;
    note = hd_arena_alloc(a, sizeof(*note));
    if (!note)
        return hd_err_set(err, HD_ENOMEM, "note: out of memory");
    helpdesk__v1__note__init(note);
    note->mention_ids = hd_arena_calloc(a, HD_TICKETS_MENTIONS_MAX, sizeof(uint64_t));
    note->mentions = hd_arena_calloc(a, HD_TICKETS_MENTIONS_MAX, sizeof(char *));
    note->create_time = hd_tickets_ts_new(a, args->now_ms);
    resolve_ctx r = {txn, a, note, hd_arena_strdup(a, ""), err, 0};
    if (!note->mention_ids || !note->mentions || !note->create_time || !r.names)
        return hd_err_set(err, HD_ENOMEM, "note: out of memory");
    if (resolver) {
        hd_tickets_mentions_each(args->body, resolve_one, &r);
        if (r.rc < 0)
            return r.rc;
    }
    rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_NOTE, &note->id, err);
    if (rc < 0)
        return rc;
    note->ticket_id = args->ticket_id;
    note->author_id = args->actor.id;
    note->body = (char *)args->body;
    note->visibility = args->visibility;
    rc = hd_store_put_msg(txn, HD_STORE_NOTES, hd_tickets_key_child(&k, note->ticket_id, note->id),
                          &note->base, HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    e.note_id = note->id;
    rc = hd_tickets_edit_fact(
        &e, "note", "",
        note->visibility == HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_PRIVATE ? "private"
                                                                                   : "team",
        err);
    if (rc == 0 && note->n_mentions)
        rc = hd_tickets_edit_fact(&e, "mentions", "", r.names, err);
    if (rc == 0)
        rc = hd_tickets_edit_commit(
            &e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_NOTE_ADDED, err);
    if (rc < 0)
        return rc;
    args->note = note;
    args->ticket = e.t;
    if (args->request_id && args->request_id[0])
        return hd_tickets_idem_pair_put(txn, HD_TICKETS_IDEM_NOTE, args->request_id,
                                        args->ticket_id, note->id, err);
    return 0;
}

bool hd_tickets_note_visible(const Helpdesk__V1__Note *n, const hd_tickets_actor *viewer)
{
    if (!viewer || viewer->kind == HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER)
        return false;
    if (n->visibility == HELPDESK__V1__NOTE_VISIBILITY__NOTE_VISIBILITY_PRIVATE)
        return viewer->kind == HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF &&
               viewer->id == n->author_id;
    return true;
}
