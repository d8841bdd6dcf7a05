/* The ticket domain: the rules for creating a ticket (validation, idempotency, customer by id
 * or email, id and number, first message, audit event, indexes, rollups: all in one
 * group-committed mutation), reading one with its thread, and listing them newest first
 * from the indexes. Knows tables and rules, nothing of gRPC. */
#ifndef HD_TICKETS_TICKETS_H
#define HD_TICKETS_TICKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/common.pb-c.h"
#include "helpdesk/v1/customers.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

#define HD_TICKETS_SUBJECT_MAX      998        /* characters (code points) */
#define HD_TICKETS_BODY_MAX_DEFAULT (1u << 20) /* bytes */
#define HD_TICKETS_REQUEST_ID_MAX   128        /* printable ASCII bytes */
#define HD_TICKETS_NAME_MAX         256        /* customer display name, characters */
#define HD_TICKETS_CATEGORY_MAX     64         /* characters */
#define HD_TICKETS_TAGS_MAX         32
#define HD_TICKETS_TAG_MAX          64 /* bytes of [a-z0-9_-] */
#define HD_TICKETS_FIELDS_MAX       64
#define HD_TICKETS_FIELD_KEY_MAX    64   /* bytes of [a-z0-9_] */
#define HD_TICKETS_FIELD_VALUE_MAX  1024 /* bytes of UTF-8 */
#define HD_TICKETS_PAGE_DEFAULT     50
#define HD_TICKETS_PAGE_MAX         1000

/* Sequence names (hd_store_seq_next) this module allocates ids from. */
#define HD_TICKETS_SEQ_TICKET   "ticket"
#define HD_TICKETS_SEQ_MESSAGE  "message"
#define HD_TICKETS_SEQ_EVENT    "event"
#define HD_TICKETS_SEQ_CUSTOMER "customer"

/* Rollup metrics written on create (server/rollup/rollup.h), per day of the create time:
 * CREATED (dim 0), CREATED_BY_PRIORITY (dim = Priority), CREATED_BY_CHANNEL (dim =
 * Channel), STATUS_IN (tickets that entered status dim that day). STATUS_NOW is a gauge
 * under day HD_ROLLUP_NOW: tickets currently in status dim (status changes move it). */
#define HD_TICKETS_ROLLUP_CREATED             "tickets.created"
#define HD_TICKETS_ROLLUP_CREATED_BY_PRIORITY "tickets.created.priority"
#define HD_TICKETS_ROLLUP_CREATED_BY_CHANNEL  "tickets.created.channel"
#define HD_TICKETS_ROLLUP_STATUS_IN           "tickets.status_in"
#define HD_TICKETS_ROLLUP_STATUS_NOW          "tickets.status_now"

/* Namespace of CreateTicket's request ids in the IDEMPOTENCY table (value: u64 ticket id +
 * the request's HD_TICKETS_FINGERPRINT_BYTES fingerprint; stores written before fingerprints
 * hold the 8-byte id alone, which replays without a comparison). */
#define HD_TICKETS_IDEM_CREATE "ticket.create"
/* Bytes of a CreateTicket request's fingerprint (BLAKE2b, libsodium crypto_generichash). */
#define HD_TICKETS_FINGERPRINT_BYTES 32
/* Namespace of ReplyToTicket's request ids (value: u64 ticket id + u64 message id). */
#define HD_TICKETS_IDEM_REPLY "ticket.reply"
/* Namespace of AddNote's request ids (value: u64 ticket id + u64 note id). */
#define HD_TICKETS_IDEM_NOTE "ticket.note"

/* Limits that the server configuration may change. Zero fields mean the default. */
typedef struct hd_tickets_limits {
    size_t body_max; /* bytes of a message body (default HD_TICKETS_BODY_MAX_DEFAULT) */
} hd_tickets_limits;

/* Most events one mutation may commit (e.g. merge: source and target). */
#define HD_TICKETS_COMMITTED_MAX 8

/* The events a mutation committed, in order, with the tickets before and after. Lives in
 * the mutation's argument; everything it points to is in the mutation's arena (borrowed
 * until that arena resets). The owner resets it at the start of every apply (applies are
 * replayed) and reads it in the done callback when the code is 0 (change.h, bus.h). */
typedef struct hd_tickets_committed {
    size_t n;
    const Helpdesk__V1__TicketEvent *events[HD_TICKETS_COMMITTED_MAX];
    const Helpdesk__V1__Ticket *before[HD_TICKETS_COMMITTED_MAX]; /* NULL for a created one */
    const Helpdesk__V1__Ticket *after[HD_TICKETS_COMMITTED_MAX];
} hd_tickets_committed;

/* Who acts, for the audit trail. */
typedef struct hd_tickets_actor {
    Helpdesk__V1__ActorKind kind;
    uint64_t id;
} hd_tickets_actor;

/* ---- Key layouts ------------------------------------------------------------------------
 * Each builder initialises k, appends the fields and returns k. Values of the index tables
 * are empty unless noted; "-> id" values are 8-byte big-endian ids. */

/* TICKETS: u64 ticket id -> Ticket. Also the prefix of a ticket's MESSAGES and EVENTS. */
hd_key *hd_tickets_key_id(hd_key *k, uint64_t id);
/* MESSAGES and EVENTS: u64 ticket id + u64 message/event id (global sequences, so key order
 * is arrival order) -> Message / TicketEvent. */
hd_key *hd_tickets_key_child(hd_key *k, uint64_t ticket_id, uint64_t child_id);
/* IDX_STATUS: u32 status + u32 priority + u64 ticket id. */
hd_key *hd_tickets_key_status(hd_key *k, uint32_t status, uint32_t priority, uint64_t id);
/* IDX_CUSTOMER: u64 customer id + u64 ticket id. */
hd_key *hd_tickets_key_customer(hd_key *k, uint64_t customer_id, uint64_t id);
/* IDX_ASSIGNEE: u64 assignee id (0 = unassigned) + u64 ticket id. */
hd_key *hd_tickets_key_assignee(hd_key *k, uint64_t assignee_id, uint64_t id);
/* IDX_CATEGORY: string category ("" = none) + u64 ticket id. */
hd_key *hd_tickets_key_category(hd_key *k, const char *category, uint64_t id);
/* IDX_GROUP: u64 group id + u64 ticket id (only tickets with a group). */
hd_key *hd_tickets_key_group(hd_key *k, uint64_t group_id, uint64_t id);
/* IDX_ORG: u64 organization id + u64 ticket id (Ticket.organization_id, only when set). */
hd_key *hd_tickets_key_org(hd_key *k, uint64_t organization_id, uint64_t id);
/* IDX_TAG: string tag + u64 ticket id. */
hd_key *hd_tickets_key_tag(hd_key *k, const char *tag, uint64_t id);
/* IDX_UPDATED: i64 update time (Unix ms) + u64 ticket id. */
hd_key *hd_tickets_key_updated(hd_key *k, int64_t update_ms, uint64_t id);
/* IDX_NUMBER: string number -> ticket id. */
hd_key *hd_tickets_key_number(hd_key *k, const char *number);
/* IDX_EMAIL: string normalised email -> customer id. CUSTOMERS: u64 id -> Customer. */
hd_key *hd_tickets_key_email(hd_key *k, const char *email);
/* IDEMPOTENCY: string namespace + string request id -> ticket id (+ what the namespace adds:
 * see HD_TICKETS_IDEM_*). */
hd_key *hd_tickets_key_idem(hd_key *k, const char *ns, const char *request_id);

/* Reads an 8-byte big-endian id value. Returns 0, or HD_ECORRUPT when len != 8. */
int hd_tickets_read_id(const void *val, size_t len, uint64_t *out, hd_err *err);

/* IDEMPOTENCY records of replies and notes: namespace ns + request id -> u64 ticket id +
 * u64 message or note id, big-endian. _get returns 0 with both ids, HD_ENOTFOUND with err
 * cleared (a first call), HD_ECORRUPT (not 16 bytes) or the store's errors; _put records
 * them (write txn; HD_EEXIST when the id is taken). request_id is borrowed. */
int hd_tickets_idem_pair_get(hd_txn *txn, const char *ns, const char *request_id,
                             uint64_t *ticket_id, uint64_t *child_id, hd_err *err);
int hd_tickets_idem_pair_put(hd_txn *txn, const char *ns, const char *request_id,
                             uint64_t ticket_id, uint64_t child_id, hd_err *err);

/* Writes the human number of ticket id ("TKT-000042") into buf (size n >= 24). Returns buf. */
const char *hd_tickets_number(char *buf, size_t n, uint64_t id);

/* ---- Create -----------------------------------------------------------------------------
 * Usage: hd_tickets_create_prepare(&args, ...) on the caller's thread, then either
 * hd_store_submit(store, hd_tickets_create_apply, done, &args, err) (group commit; read the
 * result in done) or hd_tickets_create(store, &args, err) (waits). */

typedef struct hd_tickets_create_args {
    /* Input, set by hd_tickets_create_prepare: validated and normalised. Strings are
     * borrowed from the request or copied into `arena`. */
    const char *request_id;     /* "" = no idempotency */
    uint64_t customer_id;       /* 0 = by customer_email */
    const char *customer_email; /* lower-case; "" when customer_id is set */
    const char *customer_name;
    const char *subject;
    const char *body;
    Helpdesk__V1__Priority priority; /* never UNSPECIFIED */
    Helpdesk__V1__Channel channel;   /* never UNSPECIFIED */
    const char *category;
    char **tags; /* deduplicated, first occurrence kept */
    size_t n_tags;
    Helpdesk__V1__CustomField **custom_fields;
    size_t n_custom_fields;
    hd_tickets_actor actor;
    int64_t now_ms;        /* create time, from hd_clock_now_ms at prepare */
    hd_arena *arena;       /* results are built here by apply on the writer thread */
    uint64_t follow_up_of; /* closed ticket this one follows up, 0 = none (set after prepare) */
    uint64_t group_id;     /* group to file under, 0 = none: applied (and auto-assigned when
                            * the group says so) only by hd_tickets_create_grouped_apply in
                            * assign.h; hd_tickets_create_apply ignores it */
    /* With a request_id: what the request asks for and who asks, hashed by prepare (the
     * customer fields, subject, body, priority, channel, category, tags, custom fields,
     * group_id, req->create_time and the actor) and stored with the id, so that a reuse of
     * the id for another ticket is told from a retry. Not now_ms (a retry comes later) nor
     * follow_up_of (set after prepare, only by the follow-up path, which has no request_id).
     * Zeros when request_id is "". */
    unsigned char fingerprint[HD_TICKETS_FINGERPRINT_BYTES];

    /* Result, valid once the mutation succeeded (apply returned 0 / done got code 0). */
    Helpdesk__V1__Ticket *ticket;   /* borrowed until the arena resets */
    bool replayed;                  /* request_id seen before: ticket is the first one's */
    bool customer_created;          /* customer_email was new */
    hd_tickets_committed committed; /* the CREATED event, for publishing (empty if replayed) */
} hd_tickets_create_args;

/* Validates req and fills *args (zeroed first), with the request's fingerprint when it has
 * a request_id. req must stay valid (borrowed) until the mutation is acknowledged; a must stay
 * valid and unused by other threads until then. lim may be NULL (defaults). actor may be NULL
 * (SYSTEM). Returns 0, or HD_EINVAL with the field named in the detail ("subject: longer than 998
 * characters"), or HD_ENOMEM. */
int hd_tickets_create_prepare(hd_tickets_create_args *args, hd_arena *a,
                              const Helpdesk__V1__CreateTicketRequest *req,
                              const hd_tickets_limits *lim, const hd_tickets_actor *actor,
                              hd_err *err);

/* The create mutation (an hd_store_apply_fn; arg is hd_tickets_create_args *). Runs on the
 * store's writer thread: a request_id already in IDEMPOTENCY with the same fingerprint (or
 * none: an older record) returns its ticket (replayed), with another fingerprint fails with
 * HD_EINVAL ("request_id \"KEY\": already used for another ticket; ...") writing nothing;
 * otherwise resolves the customer (HD_ENOTFOUND "customer_id: no customer 42"), or finds or
 * creates one by email, allocates the id and number and writes the ticket, its first
 * message, a CREATED event, every index entry, the rollups and the idempotency record, then
 * runs the registered observers (observer.h; before = NULL). Returns 0 or an hd_ error with
 * detail (an observer's error undoes the whole create); replayable. */
int hd_tickets_create_apply(hd_txn *txn, void *arg, hd_err *err);

/* Runs hd_tickets_create_apply through the store and waits until it is durable. Returns 0
 * with args->ticket set, or the mutation's error. Not on the writer thread. */
int hd_tickets_create(hd_store *s, hd_tickets_create_args *args, hd_err *err);

/* ---- Read ------------------------------------------------------------------------------ */

/* A ticket with its thread, all borrowed until the arena it was read into resets. */
typedef struct hd_tickets_thread {
    Helpdesk__V1__Ticket *ticket;
    Helpdesk__V1__Message **messages; /* oldest first */
    size_t n_messages;
    Helpdesk__V1__TicketEvent **events; /* oldest first */
    size_t n_events;
    Helpdesk__V1__Note **notes; /* internal notes, oldest first */
    size_t n_notes;
    Helpdesk__V1__Draft **drafts; /* reply drafts, oldest first */
    size_t n_drafts;
} hd_tickets_thread;

/* Reads the ticket with id (when non-zero) or number, with its messages, events, notes and
 * drafts (unfiltered: pass the result through hd_tickets_thread_redact for a viewer), from
 * one snapshot into a. Exactly one of id / number ("" or NULL = unset) must be given.
 * Returns 0, HD_EINVAL ("id: ..."), HD_ENOTFOUND ("ticket 42: not found"), HD_ECORRUPT,
 * HD_ENOMEM, HD_EFULL (no reader slot), HD_EIO. */
int hd_tickets_get(hd_store *s, hd_arena *a, uint64_t id, const char *number,
                   hd_tickets_thread *out, hd_err *err);

/* Most merged_into hops followed from a ticket (merges never form cycles). */
#define HD_TICKETS_MERGE_HOPS_MAX 8

/* The ticket that now holds what was posted on ticket_id (merges move messages and notes):
 * the ticket itself, or the last of its merged_into chain, read in txn and unpacked into a
 * (*out borrowed until a is reset). Returns 0, HD_ENOTFOUND ("ticket 42: not found"),
 * HD_ECORRUPT (chain longer than HD_TICKETS_MERGE_HOPS_MAX) or the store's errors. */
int hd_tickets_load_current(hd_txn *txn, hd_arena *a, uint64_t ticket_id,
                            Helpdesk__V1__Ticket **out, hd_err *err);

/* Removes from th what viewer may not see (view.c): customers (and a NULL viewer) get no
 * notes, no drafts and only the events about public facts (CREATED, STATUS_CHANGED,
 * MESSAGE_ADDED, RATED, FOLLOW_UP, MERGED), with internal fields (tags, custom fields,
 * assignee, group) removed from their changes; staff get every event and draft, and the
 * notes hd_tickets_note_visible allows. Arrays are filtered in place. */
void hd_tickets_thread_redact(hd_tickets_thread *th, const hd_tickets_actor *viewer);

/* ---- List ------------------------------------------------------------------------------ */

typedef struct hd_tickets_query {
    Helpdesk__V1__TicketStatus status;    /* UNSPECIFIED = any */
    uint64_t customer_id;                 /* only this customer's tickets; 0 = everyone's */
    int32_t page_size;                    /* 0 = HD_TICKETS_PAGE_DEFAULT, max HD_TICKETS_PAGE_MAX */
    const char *page_token;               /* NULL or "" = first page */
    Helpdesk__V1__Priority priority;      /* UNSPECIFIED = any */
    const char *category;                 /* NULL or "" = any (see uncategorised) */
    bool uncategorised;                   /* only tickets with category ""; category unset */
    uint64_t assignee_id;                 /* 0 = any (see unassigned) */
    bool unassigned;                      /* only tickets without assignee (assignee_id 0) */
    const char *tag;                      /* NULL or "" = any */
    int64_t create_from_ms, create_to_ms; /* [from, to) in Unix ms; 0 = unbounded */
    int64_t update_from_ms, update_to_ms; /* [from, to) in Unix ms; 0 = unbounded */
    Helpdesk__V1__TicketSort sort;        /* UNSPECIFIED = CREATE_TIME_DESC */
    /* SLA filters (staff only; the caller checks). When set, the SLA indexes drive the list
     * in their own order, replacing sort (hd_sla_query_scan in server/sla/query.h). */
    bool sla_breached;          /* only tickets with a running breached clock */
    int32_t sla_due_within_min; /* > 0: only tickets with a running clock due by now + this */
    int64_t sla_now_s;          /* "now" of the due filter (Unix s) */
    /* Visibility, set by the caller from who asks (false = every ticket). When scoped, only
     * tickets in one of scope_groups, or assigned to scope_assignee, or of scope_customer, or
     * of scope_org (Ticket.organization_id) are listed; 0 / none = that part grants nothing. */
    bool scoped;
    const uint64_t *scope_groups; /* borrowed for the call */
    size_t n_scope_groups;        /* at most HD_TICKETS_SCOPE_GROUPS_MAX */
    uint64_t scope_assignee;
    uint64_t scope_customer;
    uint64_t scope_org;
} hd_tickets_query;

#define HD_TICKETS_SCOPE_GROUPS_MAX 64

typedef struct hd_tickets_page {
    Helpdesk__V1__Ticket **tickets; /* in the requested order; borrowed from the arena */
    size_t n_tickets;
    const char *next_page_token; /* "" when there are no more; borrowed from the arena */
    uint64_t visited;            /* store entries read (index entries + records), for cost checks */
} hd_tickets_page;

/* Lists one page of tickets matching every filter of q, in q->sort order (newest first;
 * most recently updated first; or by priority, URGENT first, newest first within one).
 * A scoped query newest first is served from the scope's ranges merged (IDX_GROUP per
 * group, IDX_ASSIGNEE of scope_assignee, IDX_CUSTOMER of scope_customer, IDX_ORG of
 * scope_org; duplicates dropped), so its pages are full and cost O(page_size x ranges) when
 * no other filter is set; a filter on the scope's own assignee or customer uses that range
 * alone; the other sorts check the scope on each record. Unscoped queries are
 * served from one index chosen by the filters (list.c): customer -> IDX_CUSTOMER,
 * assignee/unassigned -> IDX_ASSIGNEE, tag -> IDX_TAG, category -> IDX_CATEGORY,
 * status/priority -> IDX_STATUS (one range per status x priority, merged), update-time sort
 * -> IDX_UPDATED, else TICKETS; the other filters are checked on each record. Cost:
 * O(page_size) entries when the index alone decides (one filter, or status + priority),
 * otherwise O(entries of the chosen index scanned until a page matched). The page token is
 * opaque text that encodes the position and a hash of the filters. Returns 0, HD_EINVAL
 * ("page_size: ...", "page_token: ...", "status: ...", "priority: ...", "sort: ...",
 * "assignee_id: ...", "uncategorised: ...", "scope_groups: ..."), HD_ECORRUPT, HD_ENOMEM, HD_EFULL,
 * HD_EIO. */
int hd_tickets_list(hd_store *s, hd_arena *a, const hd_tickets_query *q, hd_tickets_page *out,
                    hd_err *err);

#endif
