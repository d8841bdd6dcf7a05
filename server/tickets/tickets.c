/* Ticket rules on the store (see tickets.h). Create is one replayable mutation so that a
 * batch of them commits with one fsync and an idempotent retry racing the first call runs
 * after it on the single writer and sees its record. Reads use one snapshot each. */
#include "server/tickets/tickets.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "server/clock/clock.h"
#include "server/rollup/rollup.h"
#include "server/tickets/annotate.h"
#include "server/tickets/change.h"
#include "server/tickets/fields.h"
#include "server/tickets/observer.h"
#include "server/validate/validate.h"

/* Page tokens: "t1" + 2 hex digits of the status filter + 16 hex digits of the last id. */
#define TOKEN_PREFIX "t1"
#define TOKEN_LEN    20

/* ---- Keys ------------------------------------------------------------------------------ */

hd_key *hd_tickets_key_id(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    return hd_key_u64(k, id);
}

hd_key *hd_tickets_key_child(hd_key *k, uint64_t ticket_id, uint64_t child_id)
{
    hd_key_init(k);
    hd_key_u64(k, ticket_id);
    return hd_key_u64(k, child_id);
}

hd_key *hd_tickets_key_status(hd_key *k, uint32_t status, uint32_t priority, uint64_t id)
{
    hd_key_init(k);
    hd_key_u32(k, status);
    hd_key_u32(k, priority);
    return hd_key_u64(k, id);
}

/* The layout of the u64-keyed indexes: the value, then the ticket id. */
static hd_key *u64_then_id(hd_key *k, uint64_t v, uint64_t id)
{
    hd_key_init(k);
    hd_key_u64(k, v);
    return hd_key_u64(k, id);
}

hd_key *hd_tickets_key_customer(hd_key *k, uint64_t customer_id, uint64_t id)
{
    return u64_then_id(k, customer_id, id);
}

hd_key *hd_tickets_key_tag(hd_key *k, const char *tag, uint64_t id)
{
    hd_key_init(k);
    hd_key_str(k, tag);
    return hd_key_u64(k, id);
}

hd_key *hd_tickets_key_assignee(hd_key *k, uint64_t assignee_id, uint64_t id)
{
    return u64_then_id(k, assignee_id, id);
}

hd_key *hd_tickets_key_category(hd_key *k, const char *category, uint64_t id)
{
    hd_key_init(k);
    hd_key_str(k, category);
    return hd_key_u64(k, id);
}

hd_key *hd_tickets_key_group(hd_key *k, uint64_t group_id, uint64_t id)
{
    return u64_then_id(k, group_id, id);
}

hd_key *hd_tickets_key_org(hd_key *k, uint64_t organization_id, uint64_t id)
{
    return u64_then_id(k, organization_id, id);
}

hd_key *hd_tickets_key_updated(hd_key *k, int64_t update_ms, uint64_t id)
{
    hd_key_init(k);
    hd_key_i64(k, update_ms);
    return hd_key_u64(k, id);
}

hd_key *hd_tickets_key_number(hd_key *k, const char *number)
{
    hd_key_init(k);
    return hd_key_str(k, number);
}

hd_key *hd_tickets_key_email(hd_key *k, const char *email)
{
    hd_key_init(k);
    return hd_key_str(k, email);
}

hd_key *hd_tickets_key_idem(hd_key *k, const char *ns, const char *request_id)
{
    hd_key_init(k);
    hd_key_str(k, ns);
    return hd_key_str(k, request_id);
}

static void id_encode(unsigned char b[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        b[i] = (unsigned char)v;
        v >>= 8;
    }
}

int hd_tickets_read_id(const void *val, size_t len, uint64_t *out, hd_err *err)
{
    const unsigned char *p = val;
    uint64_t v = 0;
    if (len != 8)
        return hd_err_set(err, HD_ECORRUPT, "id value of %zu bytes, want 8", len);
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    *out = v;
    return 0;
}

/* The IDEMPOTENCY value recorded under ns and request_id (*val valid until txn ends).
 * Returns 0, HD_ENOTFOUND (err cleared) or the store's error. */
static int idem_value(hd_txn *txn, const char *ns, const char *request_id, const void **val,
                      size_t *len, hd_err *err)
{
    hd_key k;
    int rc = hd_store_get(txn, HD_STORE_IDEMPOTENCY, hd_tickets_key_idem(&k, ns, request_id), val,
                          len, err);
    if (rc == HD_ENOTFOUND)
        hd_err_clear(err);
    return rc;
}

int hd_tickets_idem_pair_get(hd_txn *txn, const char *ns, const char *request_id,
                             uint64_t *ticket_id, uint64_t *child_id, hd_err *err)
{
    const void *val;
    size_t len;
    int rc = idem_value(txn, ns, request_id, &val, &len, err);
    if (rc != 0)
        return rc;
    if (len != 16)
        return hd_err_set(err, HD_ECORRUPT, "request_id \"%s\": value of %zu bytes, want 16",
                          request_id, len);
    rc = hd_tickets_read_id(val, 8, ticket_id, err);
    if (rc == 0)
        rc = hd_tickets_read_id((const unsigned char *)val + 8, 8, child_id, err);
    return rc;
}

int hd_tickets_idem_pair_put(hd_txn *txn, const char *ns, const char *request_id,
                             uint64_t ticket_id, uint64_t child_id, hd_err *err)
{
    unsigned char b[16];
    uint64_t v[2] = {ticket_id, child_id};
    hd_key k;
    for (int i = 0; i < 16; i++)
        b[i] = (unsigned char)(v[i / 8] >> (56 - 8 * (i % 8)));
    return hd_store_put(txn, HD_STORE_IDEMPOTENCY, hd_tickets_key_idem(&k, ns, request_id), b,
                        sizeof(b), HD_STORE_NOOVERWRITE, err);
}

const char *hd_tickets_number(char *buf, size_t n, uint64_t id)
{
    snprintf(buf, n, "TKT-%06" PRIu64, id);
    return buf;
}

/* ---- Request fingerprint --------------------------------------------------------------- *
 * What a create asks for, hashed so that a reused request_id can be told from a retry
 * without keeping the request. The encoding is ours, not the protobuf bytes (field order,
 * defaults and unknown fields would change those): a version tag, then every field in a
 * fixed order, numbers as 8 bytes big-endian, strings as their length so encoded then their
 * bytes, lists as their count then their items. Changing it makes retries of creates made
 * just before an upgrade fail as reuses: bump the tag only with a reason. */

#define FINGERPRINT_TAG "helpdesk.v1.CreateTicket/1"

static void fp_u64(crypto_generichash_state *st, uint64_t v)
{
    unsigned char b[8];
    id_encode(b, v);
    crypto_generichash_update(st, b, sizeof(b));
}

static void fp_str(crypto_generichash_state *st, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    fp_u64(st, n);
    if (n)
        crypto_generichash_update(st, (const unsigned char *)s, n);
}

/* args->fingerprint from the validated fields of args and req's create_time (checked by the
 * caller after prepare: hashed as sent). */
static int fingerprint(hd_tickets_create_args *args, const Helpdesk__V1__CreateTicketRequest *req,
                       hd_err *err)
{
    crypto_generichash_state st;
    const Google__Protobuf__Timestamp *ct = req->create_time;
    if (crypto_generichash_init(&st, NULL, 0, sizeof(args->fingerprint)) != 0)
        return hd_err_set(err, HD_EINTERNAL, "request_id: fingerprint failed");
    fp_str(&st, FINGERPRINT_TAG);
    fp_u64(&st, (uint64_t)args->actor.kind);
    fp_u64(&st, args->actor.id);
    fp_u64(&st, args->customer_id);
    fp_str(&st, args->customer_email);
    fp_str(&st, args->customer_name);
    fp_str(&st, args->subject);
    fp_str(&st, args->body);
    fp_u64(&st, (uint64_t)args->priority);
    fp_u64(&st, (uint64_t)args->channel);
    fp_str(&st, args->category);
    fp_u64(&st, args->group_id);
    fp_u64(&st, args->n_tags);
    for (size_t i = 0; i < args->n_tags; i++)
        fp_str(&st, args->tags[i]);
    fp_u64(&st, args->n_custom_fields);
    for (size_t i = 0; i < args->n_custom_fields; i++) {
        fp_str(&st, args->custom_fields[i]->key);
        fp_str(&st, args->custom_fields[i]->value);
    }
    fp_u64(&st, ct != NULL);
    fp_u64(&st, ct ? (uint64_t)ct->seconds : 0);
    fp_u64(&st, ct ? (uint64_t)(int64_t)ct->nanos : 0);
    if (crypto_generichash_final(&st, args->fingerprint, sizeof(args->fingerprint)) != 0)
        return hd_err_set(err, HD_EINTERNAL, "request_id: fingerprint failed");
    return 0;
}

/* ---- Validation ------------------------------------------------------------------------ */

static int check_tags(hd_tickets_create_args *args, hd_arena *a,
                      const Helpdesk__V1__CreateTicketRequest *req, hd_err *err)
{
    return hd_tickets__check_tags(a, req->tags, req->n_tags, &args->tags, &args->n_tags, err);
}

static int check_customer(hd_tickets_create_args *args, hd_arena *a,
                          const Helpdesk__V1__CreateTicketRequest *req, hd_err *err)
{
    size_t n = strlen(req->customer_email);
    int rc;
    if (req->customer_id && n)
        return hd_err_set(err, HD_EINVAL,
                          "customer_id: set either customer_id or customer_email, not both");
    if (!req->customer_id && !n)
        return hd_err_set(err, HD_EINVAL, "customer_id: customer_id or customer_email is required");
    rc = hd_tickets__check_line("customer_name", req->customer_name, HD_TICKETS_NAME_MAX, false,
                                err);
    if (rc < 0)
        return rc;
    args->customer_id = req->customer_id;
    args->customer_name = req->customer_name;
    args->customer_email = "";
    if (req->customer_id)
        return 0;
    if (n > HD_VALIDATE_EMAIL_MAX)
        return hd_err_set(err, HD_EINVAL, "customer_email: longer than %d characters",
                          HD_VALIDATE_EMAIL_MAX);
    if (!hd_validate_email(req->customer_email, n))
        return hd_err_set(err, HD_EINVAL, "customer_email: not a valid email address");
    char *lower = hd_arena_strndup(a, req->customer_email, n);
    if (!lower)
        return hd_err_set(err, HD_ENOMEM, "customer_email: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (lower[i] >= 'A' && lower[i] <= 'Z')
            lower[i] = (char)(lower[i] - 'A' + 'a');
    }
    args->customer_email = lower;
    return 0;
}

int hd_tickets_create_prepare(hd_tickets_create_args *args, hd_arena *a,
                              const Helpdesk__V1__CreateTicketRequest *req,
                              const hd_tickets_limits *lim, const hd_tickets_actor *actor,
                              hd_err *err)
{
    size_t body_max = lim && lim->body_max ? lim->body_max : HD_TICKETS_BODY_MAX_DEFAULT;
    int rc;

    memset(args, 0, sizeof(*args));
    args->arena = a;
    rc = hd_tickets__check_request_id(req->request_id, err);
    if (rc < 0)
        return rc;
    args->request_id = req->request_id;

    rc = check_customer(args, a, req, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets__check_line("subject", req->subject, HD_TICKETS_SUBJECT_MAX, true, err);
    if (rc < 0)
        return rc;
    args->subject = req->subject;

    rc = hd_tickets__check_body("body", req->body, body_max, err);
    if (rc < 0)
        return rc;
    args->body = req->body;

    if (!hd_tickets__enum_known(&helpdesk__v1__priority__descriptor, (int)req->priority))
        return hd_err_set(err, HD_EINVAL, "priority: unknown value %d", (int)req->priority);
    if (!hd_tickets__enum_known(&helpdesk__v1__channel__descriptor, (int)req->channel))
        return hd_err_set(err, HD_EINVAL, "channel: unknown value %d", (int)req->channel);
    args->priority = req->priority ? req->priority : HELPDESK__V1__PRIORITY__PRIORITY_NORMAL;
    args->channel = req->channel ? req->channel : HELPDESK__V1__CHANNEL__CHANNEL_API;

    rc = hd_tickets__check_line("category", req->category, HD_TICKETS_CATEGORY_MAX, false, err);
    if (rc < 0)
        return rc;
    args->category = req->category;
    args->group_id = req->group_id;
    rc = check_tags(args, a, req, err);
    if (rc < 0)
        return rc;
    rc = hd_tickets__check_custom_fields(req->custom_fields, req->n_custom_fields, err);
    if (rc < 0)
        return rc;
    args->custom_fields = req->custom_fields;
    args->n_custom_fields = req->n_custom_fields;

    if (actor) {
        args->actor = *actor;
    } else {
        args->actor.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
        args->actor.id = 0;
    }
    args->now_ms = hd_clock_now_ms();
    return args->request_id[0] ? fingerprint(args, req, err) : 0;
}

/* ---- Create ---------------------------------------------------------------------------- */

static int put_id(hd_txn *txn, hd_table t, const hd_key *k, uint64_t id, unsigned flags,
                  hd_err *err)
{
    unsigned char b[8];
    id_encode(b, id);
    return hd_store_put(txn, t, k, b, sizeof(b), flags, err);
}

/* Looks up an id-valued key. Returns 0 with *out, HD_ENOTFOUND (err cleared), or an error. */
static int get_id(hd_txn *txn, hd_table t, const hd_key *k, uint64_t *out, hd_err *err)
{
    const void *val;
    size_t len;
    int rc = hd_store_get(txn, t, k, &val, &len, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return HD_ENOTFOUND;
    }
    if (rc < 0)
        return rc;
    return hd_tickets_read_id(val, len, out, err);
}

/* The organization of existing customer id into *org (0 = none). Returns 0, HD_ENOTFOUND
 * (detail names customer_id) or store errors. */
static int customer_org(hd_txn *txn, hd_arena *a, uint64_t id, uint64_t *org, hd_err *err)
{
    hd_key k;
    ProtobufCMessage *m;
    int rc = hd_store_get_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, id),
                              &helpdesk__v1__customer__descriptor, a, &m, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "customer_id: no customer %" PRIu64, id);
    if (rc < 0)
        return rc;
    *org = ((Helpdesk__V1__Customer *)m)->organization_id;
    return 0;
}

/* The requester: by id, or by email (created on first sight). *org gets their organization. */
static int resolve_customer(hd_txn *txn, hd_tickets_create_args *args, uint64_t *out, uint64_t *org,
                            hd_err *err)
{
    hd_key k;
    int rc;
    *org = 0;
    if (args->customer_id) {
        *out = args->customer_id;
        return customer_org(txn, args->arena, args->customer_id, org, err);
    }
    rc = get_id(txn, HD_STORE_IDX_EMAIL, hd_tickets_key_email(&k, args->customer_email), out, err);
    if (rc == 0)
        return customer_org(txn, args->arena, *out, org, err);
    if (rc != HD_ENOTFOUND)
        return rc;

    Helpdesk__V1__Customer c = HELPDESK__V1__CUSTOMER__INIT;
    rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_CUSTOMER, &c.id, err);
    if (rc < 0)
        return rc;
    c.email = (char *)args->customer_email;
    c.name = (char *)args->customer_name;
    c.create_time = hd_tickets_ts_new(args->arena, args->now_ms);
    if (!c.create_time)
        return hd_err_set(err, HD_ENOMEM, "customer: out of memory");
    rc = hd_store_put_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, c.id), &c.base,
                          HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    rc = put_id(txn, HD_STORE_IDX_EMAIL, hd_tickets_key_email(&k, c.email), c.id,
                HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    args->customer_created = true;
    *out = c.id;
    return 0;
}

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : "?";
}

/* The CREATED event with its field changes, in one arena block (observers see it too). */
typedef struct created_event {
    Helpdesk__V1__TicketEvent ev;
    Helpdesk__V1__Actor actor;
    Helpdesk__V1__FieldChange ch[3];
    Helpdesk__V1__FieldChange *chp[3];
} created_event;

static int put_created_event(hd_txn *txn, hd_tickets_create_args *args,
                             const Helpdesk__V1__Ticket *t, Helpdesk__V1__TicketEvent **out,
                             hd_err *err)
{
    hd_arena *a = args->arena;
    created_event *ce = hd_arena_alloc(a, sizeof(*ce));
    hd_key k;
    int rc;

    if (!ce)
        return hd_err_set(err, HD_ENOMEM, "event: out of memory");
    helpdesk__v1__ticket_event__init(&ce->ev);
    helpdesk__v1__actor__init(&ce->actor);
    for (int i = 0; i < 3; i++) {
        helpdesk__v1__field_change__init(&ce->ch[i]);
        ce->chp[i] = &ce->ch[i];
    }
    ce->ch[0].field = (char *)"status";
    ce->ch[0].after = (char *)enum_name(&helpdesk__v1__ticket_status__descriptor, (int)t->status);
    ce->ch[1].field = (char *)"priority";
    ce->ch[1].after = (char *)enum_name(&helpdesk__v1__priority__descriptor, (int)t->priority);
    ce->ch[2].field = (char *)"subject";
    ce->ch[2].after = t->subject;

    rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_EVENT, &ce->ev.id, err);
    if (rc < 0)
        return rc;
    ce->ev.ticket_id = t->id;
    ce->ev.time = hd_tickets_ts_new(a, args->now_ms);
    if (!ce->ev.time)
        return hd_err_set(err, HD_ENOMEM, "event: out of memory");
    ce->actor.kind = args->actor.kind;
    ce->actor.id = args->actor.id;
    ce->ev.actor = &ce->actor;
    ce->ev.kind = HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_CREATED;
    ce->ev.n_changes = 3;
    ce->ev.changes = ce->chp;
    *out = &ce->ev;
    return hd_store_put_msg(txn, HD_STORE_EVENTS, hd_tickets_key_child(&k, t->id, ce->ev.id),
                            &ce->ev.base, HD_STORE_NOOVERWRITE, err);
}

static int put_indexes(hd_txn *txn, const Helpdesk__V1__Ticket *t, hd_err *err)
{
    hd_key k;
    int rc = put_id(txn, HD_STORE_IDX_NUMBER, hd_tickets_key_number(&k, t->number), t->id,
                    HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    return hd_tickets_index_move(txn, NULL, t, err);
}

static int put_rollups(hd_txn *txn, const Helpdesk__V1__Ticket *t, int64_t now_ms, hd_err *err)
{
    uint32_t day = hd_rollup_day(now_ms);
    int rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_CREATED, day, 0, 1, err);
    if (rc == 0)
        rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_CREATED_BY_PRIORITY, day, (uint32_t)t->priority,
                           1, err);
    if (rc == 0)
        rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_CREATED_BY_CHANNEL, day, (uint32_t)t->channel, 1,
                           err);
    if (rc == 0)
        rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_STATUS_IN, day, (uint32_t)t->status, 1, err);
    if (rc == 0)
        rc = hd_rollup_add(txn, HD_TICKETS_ROLLUP_STATUS_NOW, HD_ROLLUP_NOW, (uint32_t)t->status, 1,
                           err);
    return rc;
}

/* Records the ticket created under args->request_id with the request's fingerprint. */
static int idem_put(hd_txn *txn, const hd_tickets_create_args *args, uint64_t id, hd_err *err)
{
    unsigned char b[8 + HD_TICKETS_FINGERPRINT_BYTES];
    hd_key k;
    id_encode(b, id);
    memcpy(b + 8, args->fingerprint, HD_TICKETS_FINGERPRINT_BYTES);
    return hd_store_put(txn, HD_STORE_IDEMPOTENCY,
                        hd_tickets_key_idem(&k, HD_TICKETS_IDEM_CREATE, args->request_id), b,
                        sizeof(b), HD_STORE_NOOVERWRITE, err);
}

/* A retry: the ticket recorded under the request id, unpacked into the arena. Returns 0
 * (replayed), HD_ENOTFOUND (err cleared: a first call), HD_EINVAL (the id was used for
 * another request), HD_ECORRUPT (a value neither 8 nor 8 + fingerprint bytes, or naming a
 * missing ticket) or the store's errors. */
static int load_replay(hd_txn *txn, hd_tickets_create_args *args, hd_err *err)
{
    hd_key k;
    ProtobufCMessage *m;
    const void *val;
    size_t len;
    uint64_t id;
    int rc = idem_value(txn, HD_TICKETS_IDEM_CREATE, args->request_id, &val, &len, err);
    if (rc != 0)
        return rc;
    if (len != 8 && len != 8 + HD_TICKETS_FINGERPRINT_BYTES)
        return hd_err_set(err, HD_ECORRUPT, "request_id \"%s\": value of %zu bytes, want 8 or %d",
                          args->request_id, len, 8 + HD_TICKETS_FINGERPRINT_BYTES);
    rc = hd_tickets_read_id(val, 8, &id, err);
    if (rc < 0)
        return rc;
    /* An 8-byte record predates fingerprints: nothing to compare, it replays as it did. */
    if (len > 8 && sodium_memcmp((const unsigned char *)val + 8, args->fingerprint,
                                 HD_TICKETS_FINGERPRINT_BYTES) != 0)
        return hd_err_set(err, HD_EINVAL,
                          "request_id \"%s\": already used for another ticket; a new ticket "
                          "needs a new id",
                          args->request_id);
    rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id),
                          &helpdesk__v1__ticket__descriptor, args->arena, &m, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ECORRUPT, "request_id \"%s\": names missing ticket %" PRIu64,
                          args->request_id, id);
    if (rc < 0)
        return rc;
    args->ticket = (Helpdesk__V1__Ticket *)m;
    args->replayed = true;
    return 0;
}

int hd_tickets_create_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_create_args *args = arg;
    hd_arena *a = args->arena;
    Helpdesk__V1__Ticket *t;
    Helpdesk__V1__Message msg = HELPDESK__V1__MESSAGE__INIT;
    Helpdesk__V1__TicketEvent *ev = NULL;
    hd_key k;
    char number[24];
    int rc;

    /* Replays of this mutation start from scratch. */
    args->ticket = NULL;
    args->replayed = false;
    args->customer_created = false;
    hd_tickets_committed_reset(&args->committed);

    if (args->request_id[0]) {
        rc = load_replay(txn, args, err);
        if (rc != HD_ENOTFOUND)
            return rc;
    }

    t = hd_arena_alloc(a, sizeof(*t));
    if (!t)
        return hd_err_set(err, HD_ENOMEM, "ticket: out of memory");
    helpdesk__v1__ticket__init(t);
    rc = resolve_customer(txn, args, &t->customer_id, &t->organization_id, err);
    if (rc < 0)
        return rc;
    rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_TICKET, &t->id, err);
    if (rc < 0)
        return rc;
    t->number = hd_arena_strdup(a, hd_tickets_number(number, sizeof(number), t->id));
    t->create_time = hd_tickets_ts_new(a, args->now_ms);
    t->update_time = hd_tickets_ts_new(a, args->now_ms);
    if (!t->number || !t->create_time || !t->update_time)
        return hd_err_set(err, HD_ENOMEM, "ticket: out of memory");
    t->subject = (char *)args->subject;
    t->status = HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW;
    t->priority = args->priority;
    t->channel = args->channel;
    t->category = (char *)args->category;
    t->n_tags = args->n_tags;
    t->tags = args->tags;
    t->n_custom_fields = args->n_custom_fields;
    t->custom_fields = args->custom_fields;
    t->message_count = 1;
    t->follow_up_of = args->follow_up_of;

    rc = hd_store_seq_next(txn, HD_TICKETS_SEQ_MESSAGE, &msg.id, err);
    if (rc < 0)
        return rc;
    msg.ticket_id = t->id;
    msg.author_kind = HELPDESK__V1__AUTHOR_KIND__AUTHOR_KIND_CUSTOMER;
    msg.author_id = t->customer_id;
    msg.body = (char *)args->body;
    msg.create_time = t->create_time;
    rc = hd_store_put_msg(txn, HD_STORE_MESSAGES, hd_tickets_key_child(&k, t->id, msg.id),
                          &msg.base, HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    rc = hd_store_put_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, t->id), &t->base,
                          HD_STORE_NOOVERWRITE, err);
    if (rc < 0)
        return rc;
    rc = put_created_event(txn, args, t, &ev, err);
    if (rc < 0)
        return rc;
    rc = put_indexes(txn, t, err);
    if (rc < 0)
        return rc;
    rc = put_rollups(txn, t, args->now_ms, err);
    if (rc < 0)
        return rc;
    hd_ticket_change change = {
        .txn = txn,
        .arena = a,
        .before = NULL,
        .after = t,
        .event = ev,
        .message = &msg,
        .now_ms = args->now_ms,
    };
    rc = hd_tickets_notify(&change, err);
    if (rc < 0)
        return rc;
    args->committed.events[0] = ev;
    args->committed.before[0] = NULL;
    args->committed.after[0] = t;
    args->committed.n = 1;
    if (args->request_id[0]) {
        rc = idem_put(txn, args, t->id, err);
        if (rc < 0)
            return rc;
    }
    args->ticket = t;
    return 0;
}

int hd_tickets_create(hd_store *s, hd_tickets_create_args *args, hd_err *err)
{
    return hd_store_write(s, hd_tickets_create_apply, args, err);
}

/* ---- Read ------------------------------------------------------------------------------ */

int hd_tickets_load_current(hd_txn *txn, hd_arena *a, uint64_t ticket_id,
                            Helpdesk__V1__Ticket **out, hd_err *err)
{
    uint64_t at = ticket_id;
    *out = NULL;
    for (int hop = 0;; hop++) {
        ProtobufCMessage *m;
        hd_key k;
        int rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, at),
                                  &helpdesk__v1__ticket__descriptor, a, &m, err);
        if (rc == HD_ENOTFOUND)
            return hd_err_set(err, HD_ENOTFOUND, "ticket %" PRIu64 ": not found", at);
        if (rc < 0)
            return rc;
        Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)m;
        if (t->status != HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED || !t->merged_into) {
            *out = t;
            return 0;
        }
        if (hop == HD_TICKETS_MERGE_HOPS_MAX)
            return hd_err_set(err, HD_ECORRUPT, "ticket %" PRIu64 ": merge chain too long",
                              ticket_id);
        at = t->merged_into;
    }
}

/* A growable array of message pointers in an arena. */
typedef struct msg_vec {
    hd_arena *a;
    const ProtobufCMessageDescriptor *desc;
    ProtobufCMessage **items;
    size_t n, cap;
    int rc;
    hd_err *err;
} msg_vec;

static int vec_push(msg_vec *v, ProtobufCMessage *m)
{
    ProtobufCMessage **items = hd_arena_grow(v->a, v->items, v->n, &v->cap, sizeof(*items), 8);
    if (!items)
        return hd_err_set(v->err, HD_ENOMEM, "out of memory");
    v->items = items;
    v->items[v->n++] = m;
    return 0;
}

static int unpack_into(msg_vec *v, const void *val, size_t vlen)
{
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(v->a, &pa);
    ProtobufCMessage *m = protobuf_c_message_unpack(v->desc, &pa, vlen, val);
    if (!m)
        return hd_err_set(v->err, HD_ECORRUPT, "%s: record does not unpack", v->desc->name);
    return vec_push(v, m);
}

static int collect_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    return unpack_into(arg, val, vlen);
}

static int read_children(hd_txn *txn, hd_table t, uint64_t ticket_id, msg_vec *v, hd_err *err)
{
    hd_key prefix;
    hd_store_range r = {0};
    r.prefix = hd_tickets_key_id(&prefix, ticket_id);
    int64_t n = hd_store_scan(txn, t, &r, collect_cb, v, err);
    return n < 0 ? (int)n : 0;
}

int hd_tickets_get(hd_store *s, hd_arena *a, uint64_t id, const char *number,
                   hd_tickets_thread *out, hd_err *err)
{
    hd_txn *txn = NULL;
    hd_key k;
    ProtobufCMessage *m;
    msg_vec mv = {a, &helpdesk__v1__message__descriptor, NULL, 0, 0, 0, err};
    msg_vec ev = {a, &helpdesk__v1__ticket_event__descriptor, NULL, 0, 0, 0, err};
    msg_vec nv = {a, &helpdesk__v1__note__descriptor, NULL, 0, 0, 0, err};
    msg_vec dv = {a, &helpdesk__v1__draft__descriptor, NULL, 0, 0, 0, err};
    bool by_number = number && number[0];
    char upper[33];
    int rc;

    memset(out, 0, sizeof(*out));
    if (id && by_number)
        return hd_err_set(err, HD_EINVAL, "id: set either id or number, not both");
    if (!id && !by_number)
        return hd_err_set(err, HD_EINVAL, "id: id or number is required");
    if (by_number && (strlen(number) > 32 || !hd_validate_printable_ascii(number, strlen(number))))
        return hd_err_set(err, HD_EINVAL, "number: must be at most 32 printable ASCII characters");

    if (by_number) {
        /* Numbers are matched case-insensitively: people type "tkt-000042". */
        size_t n = strlen(number);
        for (size_t i = 0; i <= n; i++)
            upper[i] =
                number[i] >= 'a' && number[i] <= 'z' ? (char)(number[i] - 'a' + 'A') : number[i];
        number = upper;
    }
    rc = hd_store_read_begin(s, &txn, err);
    if (rc < 0)
        return rc;
    if (by_number) {
        rc = get_id(txn, HD_STORE_IDX_NUMBER, hd_tickets_key_number(&k, number), &id, err);
        if (rc == HD_ENOTFOUND) {
            hd_err_set(err, rc, "ticket \"%s\": not found", number);
            goto fail;
        }
        if (rc < 0)
            goto fail;
    }
    rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id),
                          &helpdesk__v1__ticket__descriptor, a, &m, err);
    if (rc == HD_ENOTFOUND)
        hd_err_set(err, rc, "ticket %" PRIu64 ": not found", id);
    if (rc < 0)
        goto fail;
    out->ticket = (Helpdesk__V1__Ticket *)m;
    rc = hd_tickets_annotate(txn, a, out->ticket, err);
    if (rc < 0)
        goto fail;

    rc = read_children(txn, HD_STORE_MESSAGES, id, &mv, err);
    if (rc < 0)
        goto fail;
    rc = read_children(txn, HD_STORE_EVENTS, id, &ev, err);
    if (rc < 0)
        goto fail;
    rc = read_children(txn, HD_STORE_NOTES, id, &nv, err);
    if (rc < 0)
        goto fail;
    rc = read_children(txn, HD_STORE_DRAFTS, id, &dv, err);
    if (rc < 0)
        goto fail;
    hd_store_read_end(txn);
    out->messages = (Helpdesk__V1__Message **)mv.items;
    out->n_messages = mv.n;
    out->events = (Helpdesk__V1__TicketEvent **)ev.items;
    out->n_events = ev.n;
    out->notes = (Helpdesk__V1__Note **)nv.items;
    out->n_notes = nv.n;
    out->drafts = (Helpdesk__V1__Draft **)dv.items;
    out->n_drafts = dv.n;
    return 0;
fail:
    hd_store_read_end(txn);
    memset(out, 0, sizeof(*out));
    return rc;
}
