/* Staff members, groups and membership: validation, one mutation per operation, audit
 * events in the same txn. Password hashing runs on the caller's thread before submitting. */
#include "server/staff/staff.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "helpdesk/v1/common.pb-c.h"
#include "server/audit/audit.h"
#include "server/auth/password.h"
#include "server/clock/clock.h"
#include "server/record/record.h"
#include "server/validate/validate.h"

/* ---- keys ------------------------------------------------------------------------------ */

static hd_key *tagged_id(hd_key *k, uint8_t tag, uint64_t id)
{
    hd_key_init(k);
    hd_key_u8(k, tag);
    return hd_key_u64(k, id);
}

static hd_key *tagged_str(hd_key *k, uint8_t tag, const char *s)
{
    hd_key_init(k);
    hd_key_u8(k, tag);
    return hd_key_str(k, s);
}

hd_key *hd_staff_key_id(hd_key *k, uint64_t id)
{
    return tagged_id(k, 's', id);
}

hd_key *hd_staff_key_credential(hd_key *k, uint64_t id)
{
    return tagged_id(k, 'p', id);
}

hd_key *hd_staff_key_email(hd_key *k, const char *email)
{
    return tagged_str(k, 'e', email);
}

hd_key *hd_staff_key_group(hd_key *k, uint64_t group_id)
{
    return tagged_id(k, 'g', group_id);
}

hd_key *hd_staff_key_group_name(hd_key *k, const char *name)
{
    return tagged_str(k, 'n', name);
}

hd_key *hd_staff_key_member(hd_key *k, uint64_t group_id, uint64_t staff_id)
{
    tagged_id(k, 'm', group_id);
    return hd_key_u64(k, staff_id);
}

hd_key *hd_staff_key_members_prefix(hd_key *k, uint64_t group_id)
{
    return tagged_id(k, 'm', group_id);
}

/* ---- helpers --------------------------------------------------------------------------- */

static void put_be(unsigned char b[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)v;
}

static uint64_t get_be(const unsigned char b[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static int get_id_val(hd_txn *txn, hd_table t, const hd_key *k, uint64_t *out, hd_err *err)
{
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, t, k, &v, &n, err);
    if (rc != HD_OK)
        return rc;
    if (n != 8)
        return hd_err_set(err, HD_ECORRUPT, "%s: id value of %zu bytes", hd_store_table_name(t), n);
    *out = get_be(v);
    return HD_OK;
}

static int put_id_val(hd_txn *txn, hd_table t, const hd_key *k, uint64_t id, unsigned flags,
                      hd_err *err)
{
    unsigned char b[8];
    put_be(b, id);
    return hd_store_put(txn, t, k, b, sizeof(b), flags, err);
}

static int check_role(int role, hd_err *err)
{
    if (role != HELPDESK__V1__ROLE__ROLE_ADMIN && role != HELPDESK__V1__ROLE__ROLE_MANAGER &&
        role != HELPDESK__V1__ROLE__ROLE_AGENT)
        return hd_err_set(err, HD_EINVAL, "role: must be ADMIN, MANAGER or AGENT");
    return HD_OK;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Copies ids sorted and deduplicated into arena memory. */
static int norm_groups(hd_arena *a, const uint64_t *in, size_t n, uint64_t **out, size_t *nout,
                       hd_err *err)
{
    *out = NULL;
    *nout = 0;
    if (n == 0)
        return HD_OK;
    if (n > HD_STAFF_GROUPS_MAX)
        return hd_err_set(err, HD_EINVAL, "group_ids: more than %d", HD_STAFF_GROUPS_MAX);
    uint64_t *v = hd_arena_alloc(a, n * sizeof(*v));
    if (!v)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    memcpy(v, in, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] == 0)
            return hd_err_set(err, HD_EINVAL, "group_ids: 0 is not a group");
        if (m == 0 || v[m - 1] != v[i])
            v[m++] = v[i];
    }
    *out = v;
    *nout = m;
    return HD_OK;
}

static int groups_exist(hd_txn *txn, const uint64_t *ids, size_t n, hd_err *err)
{
    for (size_t i = 0; i < n; i++) {
        hd_key k;
        const void *v;
        size_t vn;
        int rc = hd_store_get(txn, HD_STORE_GROUPS, hd_staff_key_group(&k, ids[i]), &v, &vn, err);
        if (rc == HD_ENOTFOUND)
            return hd_err_set(err, HD_ENOTFOUND, "group_ids: no group %" PRIu64, ids[i]);
        if (rc != HD_OK)
            return rc;
    }
    return HD_OK;
}

/* ---- txn level ------------------------------------------------------------------------- */

int hd_staff_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Staff **out, hd_err *err)
{
    hd_key k;
    return hd_record_get(txn, HD_STORE_STAFF, hd_staff_key_id(&k, id),
                         &helpdesk__v1__staff__descriptor, a, "staff", id, out, err);
}

int hd_staff_find_email(hd_txn *txn, const char *email, uint64_t *id, hd_err *err)
{
    char buf[HD_STAFF_EMAIL_MAX + 1];
    size_t n = email ? strlen(email) : 0;
    if (n > HD_STAFF_EMAIL_MAX)
        return hd_err_set(err, HD_ENOTFOUND, "email: no staff member");
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)tolower((unsigned char)email[i]);
    buf[n] = 0;
    hd_key k;
    int rc = get_id_val(txn, HD_STORE_STAFF, hd_staff_key_email(&k, buf), id, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "email: no staff member");
    return rc;
}

bool hd_staff_in_group(const Helpdesk__V1__Staff *s, uint64_t group_id)
{
    for (size_t i = 0; i < s->n_group_ids; i++)
        if (s->group_ids[i] == group_id)
            return true;
    return false;
}

static bool in_list(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

/* Writes s and the membership entries that differ from old (NULL: none existed). */
static int put_record(hd_txn *txn, const Helpdesk__V1__Staff *old, const Helpdesk__V1__Staff *s,
                      hd_err *err)
{
    hd_key k;
    int rc;
    if (old)
        for (size_t i = 0; i < old->n_group_ids; i++)
            if (!in_list(s->group_ids, s->n_group_ids, old->group_ids[i])) {
                rc = hd_store_del(txn, HD_STORE_GROUPS,
                                  hd_staff_key_member(&k, old->group_ids[i], s->id), err);
                if (rc != HD_OK && rc != HD_ENOTFOUND)
                    return rc;
            }
    for (size_t i = 0; i < s->n_group_ids; i++)
        if (!old || !in_list(old->group_ids, old->n_group_ids, s->group_ids[i])) {
            rc = hd_store_put(txn, HD_STORE_GROUPS, hd_staff_key_member(&k, s->group_ids[i], s->id),
                              "", 0, 0, err);
            if (rc != HD_OK)
                return rc;
        }
    return hd_store_put_msg(txn, HD_STORE_STAFF, hd_staff_key_id(&k, s->id), &s->base, 0, err);
}

int hd_staff_put(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Staff *s, hd_err *err)
{
    Helpdesk__V1__Staff *old = NULL;
    int rc = hd_staff_get(txn, a, s->id, &old, err);
    if (rc != HD_OK)
        return rc;
    return put_record(txn, old, s, err);
}

/* Makes room for one more element in the arena array *v of n elements (capacity *cap),
 * doubling it when full. Returns 0 or HD_ENOMEM. */
static int grow(hd_arena *a, void **v, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return HD_OK;
    size_t c = *cap ? *cap * 2 : 16;
    void *nv = hd_arena_alloc(a, c * elem);
    if (!nv)
        return HD_ENOMEM;
    if (n)
        memcpy(nv, *v, n * elem);
    *v = nv;
    *cap = c;
    return HD_OK;
}

/* Decodes the staff id of a GROUPS membership key ('m' + group + staff). */
static int member_of_key(const void *key, size_t klen, uint64_t *sid, hd_err *err)
{
    hd_key_reader r;
    uint8_t tag;
    uint64_t gid;
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_u8(&r, &tag, err) != HD_OK || hd_key_read_u64(&r, &gid, err) != HD_OK)
        return HD_ECORRUPT;
    return hd_key_read_u64(&r, sid, err);
}

typedef struct ids_ctx {
    hd_arena *a;
    uint64_t *v;
    size_t n, cap;
    hd_err *err;
} ids_ctx;

static int collect_member(void *argp, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    ids_ctx *c = argp;
    uint64_t sid;
    if (member_of_key(key, klen, &sid, c->err) != HD_OK)
        return HD_ECORRUPT;
    if (grow(c->a, (void **)&c->v, c->n, &c->cap, sizeof(*c->v)) != HD_OK)
        return hd_err_set(c->err, HD_ENOMEM, "staff: out of memory");
    c->v[c->n++] = sid;
    return 0;
}

int hd_staff_group_members(hd_txn *txn, hd_arena *a, uint64_t group_id, uint64_t **ids, size_t *n,
                           hd_err *err)
{
    ids_ctx c = {.a = a, .err = err};
    hd_key prefix;
    hd_store_range range = {.prefix = hd_staff_key_members_prefix(&prefix, group_id)};
    int64_t got = hd_store_scan(txn, HD_STORE_GROUPS, &range, collect_member, &c, err);
    if (got < 0)
        return (int)got;
    *ids = c.n ? c.v : NULL;
    *n = c.n;
    return HD_OK;
}

int hd_staff_group_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Group **out,
                       hd_err *err)
{
    hd_key k;
    return hd_record_get(txn, HD_STORE_GROUPS, hd_staff_key_group(&k, id),
                         &helpdesk__v1__group__descriptor, a, "group", id, out, err);
}

/* ---- mutations ------------------------------------------------------------------------- */

typedef struct op_args {
    hd_arena *a;
    int64_t now;
    const hd_staff_actor *actor;
    /* create / update */
    Helpdesk__V1__Staff in; /* normalised input */
    const char *pw_hash;    /* "" = leave */
    const char *const *mask;
    size_t n_mask;
    /* membership */
    uint64_t group_id;
    bool add;
    /* group create */
    const char *gname, *gdesc;
    bool gauto;
    /* results */
    Helpdesk__V1__Staff *out;
    Helpdesk__V1__Group *gout;
} op_args;

static int audit(hd_txn *txn, const op_args *o, const char *action, const char *kind, uint64_t id,
                 const char *detail, hd_err *err)
{
    return hd_audit_append(txn,
                           o->actor ? o->actor->kind : HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM,
                           o->actor ? o->actor->id : 0, action, kind, id, detail, o->now, err);
}

static int put_credential(hd_txn *txn, const op_args *o, uint64_t id, hd_err *err)
{
    Helpdesk__V1__StaffCredential cred = HELPDESK__V1__STAFF_CREDENTIAL__INIT;
    Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    t.seconds = o->now / 1000;
    t.nanos = (int32_t)(o->now % 1000) * 1000000;
    cred.staff_id = id;
    cred.password_hash = (char *)o->pw_hash;
    cred.set_time = &t;
    hd_key k;
    return hd_store_put_msg(txn, HD_STORE_STAFF, hd_staff_key_credential(&k, id), &cred.base, 0,
                            err);
}

/* Copies s (borrowed from the txn or the args) into a fresh arena message for the result. */
static int result_copy(op_args *o, const Helpdesk__V1__Staff *s, hd_err *err)
{
    size_t n = protobuf_c_message_get_packed_size(&s->base);
    uint8_t *buf = hd_arena_alloc(o->a, n ? n : 1);
    if (!buf)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    protobuf_c_message_pack(&s->base, buf);
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(o->a, &pa);
    o->out = (Helpdesk__V1__Staff *)protobuf_c_message_unpack(&helpdesk__v1__staff__descriptor, &pa,
                                                              n, buf);
    return o->out ? HD_OK : hd_err_set(err, HD_ENOMEM, "staff: out of memory");
}

static int create_apply(hd_txn *txn, void *argp, hd_err *err)
{
    op_args *o = argp;
    Helpdesk__V1__Staff s = o->in;
    hd_key k;
    uint64_t existing;
    int rc = get_id_val(txn, HD_STORE_STAFF, hd_staff_key_email(&k, s.email), &existing, err);
    if (rc == HD_OK)
        return hd_err_set(err, HD_EEXIST, "email: a staff member with %s exists", s.email);
    if (rc != HD_ENOTFOUND)
        return rc;
    rc = groups_exist(txn, s.group_ids, s.n_group_ids, err);
    if (rc != HD_OK)
        return rc;
    rc = hd_store_seq_next(txn, HD_STAFF_SEQ_STAFF, &s.id, err);
    if (rc != HD_OK)
        return rc;
    rc = put_id_val(txn, HD_STORE_STAFF, hd_staff_key_email(&k, s.email), s.id,
                    HD_STORE_NOOVERWRITE, err);
    if (rc == HD_OK)
        rc = put_record(txn, NULL, &s, err);
    if (rc == HD_OK && *o->pw_hash)
        rc = put_credential(txn, o, s.id, err);
    if (rc == HD_OK)
        rc = audit(txn, o, "staff.create", "staff", s.id, s.email, err);
    if (rc == HD_OK)
        rc = result_copy(o, &s, err);
    return rc;
}

static int prepare_common(op_args *o, hd_arena *a, const hd_staff_actor *actor)
{
    memset(o, 0, sizeof(*o));
    o->a = a;
    o->actor = actor;
    o->now = hd_clock_now_ms();
    o->pw_hash = "";
    return HD_OK;
}

/* Hashes a non-empty password into arena memory for o->pw_hash. */
static int prepare_password(op_args *o, const char *pw, hd_err *err)
{
    if (!pw || !*pw)
        return HD_OK;
    int rc = hd_password_validate("password", pw, err);
    if (rc != HD_OK)
        return rc;
    char *h = hd_arena_alloc(o->a, HD_PASSWORD_HASH_MAX);
    if (!h)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    rc = hd_password_hash(h, HD_PASSWORD_HASH_MAX, pw, err);
    o->pw_hash = h;
    return rc;
}

int hd_staff_create(hd_store *s, hd_arena *a, const Helpdesk__V1__CreateStaffRequest *req,
                    const hd_staff_actor *actor, Helpdesk__V1__Staff **out, hd_err *err)
{
    op_args o;
    prepare_common(&o, a, actor);
    size_t en = req->email ? strlen(req->email) : 0;
    if (en == 0)
        return hd_err_set(err, HD_EINVAL, "email: required");
    if (!hd_validate_email(req->email, en))
        return hd_err_set(err, HD_EINVAL, "email: not an email address");
    int rc = hd_record_check_line("name", req->name, HD_STAFF_NAME_MAX, 1, err);
    if (rc == HD_OK)
        rc = check_role(req->role, err);
    if (rc != HD_OK)
        return rc;
    helpdesk__v1__staff__init(&o.in);
    o.in.email = hd_record_lower(a, req->email);
    o.in.name = req->name;
    o.in.role = req->role;
    o.in.active = true;
    o.in.capacity = req->capacity;
    o.in.create_time = hd_record_time(a, o.now);
    o.in.update_time = o.in.create_time;
    if (!o.in.email || !o.in.create_time)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    rc = norm_groups(a, req->group_ids, req->n_group_ids, &o.in.group_ids, &o.in.n_group_ids, err);
    if (rc == HD_OK)
        rc = prepare_password(&o, req->password, err);
    if (rc == HD_OK)
        rc = hd_store_write(s, create_apply, &o, err);
    if (rc == HD_OK)
        *out = o.out;
    return rc;
}

static bool mask_has(const op_args *o, const char *f)
{
    if (o->n_mask == 0)
        return true;
    for (size_t i = 0; i < o->n_mask; i++)
        if (strcmp(o->mask[i], f) == 0)
            return true;
    return false;
}

static int update_apply(hd_txn *txn, void *argp, hd_err *err)
{
    op_args *o = argp;
    Helpdesk__V1__Staff *old = NULL, *cur = NULL;
    int rc = hd_staff_get(txn, o->a, o->in.id, &old, err);
    if (rc == HD_OK)
        rc = hd_staff_get(txn, o->a, o->in.id, &cur, err);
    if (rc != HD_OK)
        return rc;
    char detail[128];
    size_t dn = 0;
    detail[0] = 0;
#define HD__NOTE(f)                                                                                \
    dn += (size_t)snprintf(detail + dn, dn < sizeof(detail) ? sizeof(detail) - dn : 0, "%s%s",     \
                           dn ? "," : "", f);                                                      \
    if (dn >= sizeof(detail))                                                                      \
        dn = sizeof(detail) - 1;
    if (mask_has(o, "name") && o->in.name && *o->in.name) {
        cur->name = o->in.name;
        HD__NOTE("name")
    }
    if (mask_has(o, "role") && o->in.role) {
        cur->role = o->in.role;
        HD__NOTE("role")
    }
    if (mask_has(o, "capacity")) {
        cur->capacity = o->in.capacity;
        HD__NOTE("capacity")
    }
    if (mask_has(o, "active")) {
        cur->active = o->in.active;
        HD__NOTE(o->in.active ? "active=true" : "active=false")
    }
    if (mask_has(o, "group_ids") && o->n_mask) {
        rc = groups_exist(txn, o->in.group_ids, o->in.n_group_ids, err);
        if (rc != HD_OK)
            return rc;
        cur->group_ids = o->in.group_ids;
        cur->n_group_ids = o->in.n_group_ids;
        HD__NOTE("group_ids")
    }
    if (o->group_id) { /* membership change */
        rc = groups_exist(txn, &o->group_id, 1, err);
        if (rc != HD_OK)
            return rc;
        size_t n = 0;
        uint64_t *v = hd_arena_alloc(o->a, (cur->n_group_ids + 1) * sizeof(*v));
        if (!v)
            return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
        for (size_t i = 0; i < cur->n_group_ids; i++)
            if (cur->group_ids[i] != o->group_id)
                v[n++] = cur->group_ids[i];
        if (o->add)
            v[n++] = o->group_id;
        if (n > HD_STAFF_GROUPS_MAX)
            return hd_err_set(err, HD_EINVAL, "group_ids: more than %d", HD_STAFF_GROUPS_MAX);
        qsort(v, n, sizeof(*v), cmp_u64);
        cur->group_ids = v;
        cur->n_group_ids = n;
        snprintf(detail, sizeof(detail), "%s group %" PRIu64, o->add ? "join" : "leave",
                 o->group_id);
    }
#undef HD__NOTE
    if (*o->pw_hash) {
        rc = put_credential(txn, o, cur->id, err);
        if (rc != HD_OK)
            return rc;
        if (!o->group_id)
            snprintf(detail + dn, sizeof(detail) - dn, "%spassword", dn ? "," : "");
    }
    cur->update_time = hd_record_time(o->a, o->now);
    if (!cur->update_time)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    rc = put_record(txn, old, cur, err);
    if (rc == HD_OK)
        rc = audit(txn, o,
                   o->group_id ? "staff.membership"
                   : (o->n_mask == 1 && strcmp(o->mask[0], "active") == 0 && !o->in.active)
                       ? "staff.deactivate"
                       : "staff.update",
                   "staff", cur->id, detail, err);
    if (rc == HD_OK)
        rc = result_copy(o, cur, err);
    return rc;
}

int hd_staff_update(hd_store *s, hd_arena *a, const Helpdesk__V1__Staff *upd,
                    const char *const *mask, size_t n_mask, const char *password,
                    const hd_staff_actor *actor, Helpdesk__V1__Staff **out, hd_err *err)
{
    op_args o;
    prepare_common(&o, a, actor);
    /* An empty mask never touches `active` (proto3 cannot tell false from unset). */
    static const char *const all[] = {"name", "role", "group_ids", "capacity", "active"};
    if (!upd || upd->id == 0)
        return hd_err_set(err, HD_EINVAL, "staff.id: required");
    if (n_mask == 0) {
        mask = all;
        n_mask = sizeof(all) / sizeof(all[0]) - 1;
    }
    for (size_t i = 0; i < n_mask; i++) {
        size_t j = 0;
        while (j < sizeof(all) / sizeof(all[0]) && strcmp(mask[i], all[j]) != 0)
            j++;
        if (j == sizeof(all) / sizeof(all[0]))
            return hd_err_set(err, HD_EINVAL, "update_mask: unknown field '%.64s'", mask[i]);
    }
    o.mask = mask;
    o.n_mask = n_mask;
    o.in = *upd;
    int rc = HD_OK;
    for (size_t i = 0; i < n_mask && rc == HD_OK; i++) {
        if (strcmp(mask[i], "name") == 0 && upd->name && *upd->name)
            rc = hd_record_check_line("staff.name", upd->name, HD_STAFF_NAME_MAX, 1, err);
        else if (strcmp(mask[i], "role") == 0 && upd->role)
            rc = check_role(upd->role, err);
    }
    if (rc == HD_OK)
        rc = norm_groups(a, upd->group_ids, upd->n_group_ids, &o.in.group_ids, &o.in.n_group_ids,
                         err);
    if (rc == HD_OK)
        rc = prepare_password(&o, password, err);
    if (rc == HD_OK)
        rc = hd_store_write(s, update_apply, &o, err);
    if (rc == HD_OK)
        *out = o.out;
    return rc;
}

int hd_staff_deactivate(hd_store *s, hd_arena *a, uint64_t id, const hd_staff_actor *actor,
                        Helpdesk__V1__Staff **out, hd_err *err)
{
    static const char *const mask[] = {"active"};
    Helpdesk__V1__Staff upd = HELPDESK__V1__STAFF__INIT;
    upd.id = id;
    upd.active = false;
    return hd_staff_update(s, a, &upd, mask, 1, NULL, actor, out, err);
}

int hd_staff_membership(hd_store *s, hd_arena *a, uint64_t group_id, uint64_t staff_id, bool add,
                        const hd_staff_actor *actor, Helpdesk__V1__Staff **out, hd_err *err)
{
    static const char *const none[] = {"__membership"};
    op_args o;
    prepare_common(&o, a, actor);
    if (group_id == 0)
        return hd_err_set(err, HD_EINVAL, "group_id: required");
    if (staff_id == 0)
        return hd_err_set(err, HD_EINVAL, "staff_id: required");
    helpdesk__v1__staff__init(&o.in);
    o.in.id = staff_id;
    o.mask = none; /* matches no field: only the membership changes */
    o.n_mask = 1;
    o.group_id = group_id;
    o.add = add;
    int rc = hd_store_write(s, update_apply, &o, err);
    if (rc == HD_OK)
        *out = o.out;
    return rc;
}

/* ---- list ------------------------------------------------------------------------------ */

typedef struct list_ctx {
    hd_arena *a;
    hd_txn *txn;
    bool include_inactive;
    Helpdesk__V1__Staff **v;
    size_t n, want;
    hd_err *err;
} list_ctx;

static int list_add(list_ctx *c, Helpdesk__V1__Staff *st)
{
    if (!c->include_inactive && !st->active)
        return 0;
    c->v[c->n++] = st;
    return c->n > c->want ? 1 : 0;
}

static int list_staff_entry(void *argp, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    list_ctx *c = argp;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(c->a, &pa);
    Helpdesk__V1__Staff *st = (Helpdesk__V1__Staff *)protobuf_c_message_unpack(
        &helpdesk__v1__staff__descriptor, &pa, vlen, val);
    if (!st)
        return hd_err_set(c->err, HD_ECORRUPT, "staff: record does not unpack");
    return list_add(c, st);
}

static int list_member_entry(void *argp, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)val;
    (void)vlen;
    list_ctx *c = argp;
    uint64_t sid;
    if (member_of_key(key, klen, &sid, c->err) != HD_OK)
        return HD_ECORRUPT;
    Helpdesk__V1__Staff *st = NULL;
    int rc = hd_staff_get(c->txn, c->a, sid, &st, c->err);
    if (rc != HD_OK)
        return rc;
    return list_add(c, st);
}

int hd_staff_list(hd_store *s, hd_arena *a, const Helpdesk__V1__ListStaffRequest *req,
                  Helpdesk__V1__ListStaffResponse *out, hd_err *err)
{
    if (req->page_size < 0 || req->page_size > HD_STAFF_PAGE_MAX)
        return hd_err_set(err, HD_EINVAL, "page_size: must be 0..%d", HD_STAFF_PAGE_MAX);
    uint64_t after = 0;
    if (req->page_token && *req->page_token) {
        char *end = NULL;
        after = strtoull(req->page_token, &end, 10);
        if (!end || *end || after == 0)
            return hd_err_set(err, HD_EINVAL, "page_token: not one of ours");
    }
    list_ctx c = {.a = a, .include_inactive = req->include_inactive, .err = err};
    c.want = req->page_size ? (size_t)req->page_size : HD_STAFF_PAGE_DEFAULT;
    c.v = hd_arena_calloc(a, c.want + 1, sizeof(*c.v));
    if (!c.v)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    hd_key prefix, start;
    hd_store_range range = {.prefix = &prefix, .exclusive = 1};
    hd_table t;
    hd_store_scan_fn fn;
    if (req->group_id) {
        hd_staff_key_members_prefix(&prefix, req->group_id);
        if (after)
            range.start = hd_staff_key_member(&start, req->group_id, after);
        t = HD_STORE_GROUPS;
        fn = list_member_entry;
    } else {
        hd_key_init(&prefix);
        hd_key_u8(&prefix, 's');
        if (after)
            range.start = hd_staff_key_id(&start, after);
        t = HD_STORE_STAFF;
        fn = list_staff_entry;
    }
    int rc = hd_store_read_begin(s, &c.txn, err);
    if (rc != HD_OK)
        return rc;
    int64_t got = hd_store_scan(c.txn, t, &range, fn, &c, err);
    hd_store_read_end(c.txn);
    if (got < 0)
        return (int)got;
    out->next_page_token = (char *)"";
    if (c.n > c.want) {
        c.n = c.want;
        out->next_page_token = hd_arena_printf(a, "%" PRIu64, c.v[c.want - 1]->id);
        if (!out->next_page_token)
            return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    }
    out->staff = c.v;
    out->n_staff = c.n;
    return HD_OK;
}

/* ---- groups ---------------------------------------------------------------------------- */

static int group_create_apply(hd_txn *txn, void *argp, hd_err *err)
{
    op_args *o = argp;
    hd_key k;
    uint64_t existing;
    int rc =
        get_id_val(txn, HD_STORE_GROUPS, hd_staff_key_group_name(&k, o->gname), &existing, err);
    if (rc == HD_OK)
        return hd_err_set(err, HD_EEXIST, "name: group '%s' exists", o->gname);
    if (rc != HD_ENOTFOUND)
        return rc;
    Helpdesk__V1__Group *g = hd_arena_alloc(o->a, sizeof(*g));
    if (!g)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    helpdesk__v1__group__init(g);
    rc = hd_store_seq_next(txn, HD_STAFF_SEQ_GROUP, &g->id, err);
    if (rc != HD_OK)
        return rc;
    g->name = (char *)o->gname;
    g->description = (char *)o->gdesc;
    g->auto_assign = o->gauto;
    g->create_time = hd_record_time(o->a, o->now);
    if (!g->create_time)
        return hd_err_set(err, HD_ENOMEM, "staff: out of memory");
    rc = put_id_val(txn, HD_STORE_GROUPS, &k, g->id, HD_STORE_NOOVERWRITE, err);
    if (rc == HD_OK)
        rc = hd_store_put_msg(txn, HD_STORE_GROUPS, hd_staff_key_group(&k, g->id), &g->base,
                              HD_STORE_NOOVERWRITE, err);
    if (rc == HD_OK)
        rc = audit(txn, o, "group.create", "group", g->id, o->gname, err);
    if (rc == HD_OK)
        o->gout = g;
    return rc;
}

int hd_staff_group_create(hd_store *s, hd_arena *a, const char *name, const char *description,
                          bool auto_assign, const hd_staff_actor *actor, Helpdesk__V1__Group **out,
                          hd_err *err)
{
    op_args o;
    prepare_common(&o, a, actor);
    int rc = hd_record_check_line("name", name, HD_STAFF_GROUP_MAX, 1, err);
    if (rc != HD_OK)
        return rc;
    size_t dn = description ? strlen(description) : 0;
    if (dn > HD_STAFF_DESC_MAX)
        return hd_err_set(err, HD_EINVAL, "description: longer than %d bytes", HD_STAFF_DESC_MAX);
    if (!hd_validate_utf8(description ? description : "", dn))
        return hd_err_set(err, HD_EINVAL, "description: not valid UTF-8");
    o.gname = name;
    o.gdesc = description ? description : "";
    o.gauto = auto_assign;
    rc = hd_store_write(s, group_create_apply, &o, err);
    if (rc == HD_OK)
        *out = o.gout;
    return rc;
}

typedef struct glist_ctx {
    hd_arena *a;
    Helpdesk__V1__Group **v;
    size_t n, cap;
    hd_err *err;
} glist_ctx;

static int glist_entry(void *argp, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    glist_ctx *c = argp;
    if (grow(c->a, (void **)&c->v, c->n, &c->cap, sizeof(*c->v)) != HD_OK)
        return hd_err_set(c->err, HD_ENOMEM, "staff: out of memory");
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(c->a, &pa);
    c->v[c->n] = (Helpdesk__V1__Group *)protobuf_c_message_unpack(&helpdesk__v1__group__descriptor,
                                                                  &pa, vlen, val);
    if (!c->v[c->n])
        return hd_err_set(c->err, HD_ECORRUPT, "group: record does not unpack");
    c->n++;
    return 0;
}

int hd_staff_group_list(hd_store *s, hd_arena *a, Helpdesk__V1__ListGroupsResponse *out,
                        hd_err *err)
{
    glist_ctx c = {.a = a, .err = err};
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_u8(&prefix, 'g');
    hd_store_range range = {.prefix = &prefix};
    hd_txn *txn;
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc != HD_OK)
        return rc;
    int64_t got = hd_store_scan(txn, HD_STORE_GROUPS, &range, glist_entry, &c, err);
    hd_store_read_end(txn);
    if (got < 0)
        return (int)got;
    out->groups = c.v;
    out->n_groups = c.n;
    return HD_OK;
}
