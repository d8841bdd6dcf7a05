/* SLA calendars and policies: validation, storage in the SLA_CONFIG table, matching. */
#include "server/sla/config.h"

#include <stdlib.h>
#include <string.h>

#include "server/validate/validate.h"

static hd_key *cfg_key(hd_key *k, const char *prefix, uint64_t id)
{
    hd_key_init(k);
    hd_key_str(k, prefix);
    return hd_key_u64(k, id);
}

static int check_name(const char *what, const char *name, hd_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || !hd_validate_utf8(name, n) || !hd_validate_single_line(name, n) ||
        hd_validate_utf8_chars(name, n) > HD_SLA_NAME_MAX)
        return hd_err_set(err, HD_EINVAL, "%s.name: required, 1-%d characters, one line", what,
                          HD_SLA_NAME_MAX);
    return 0;
}

/* Builds the calendar definition of c in arena-free stack arrays and compiles it. */
int hd_sla_config_compile(hd_sla_calendar **out, const Helpdesk__V1__Calendar *c, hd_err *err)
{
    hd_sla_interval iv[HD_SLA_INTERVALS_MAX];
    hd_sla_holiday *hol = NULL;
    int rc;

    *out = NULL;
    if (c->n_intervals > HD_SLA_INTERVALS_MAX || c->n_holidays > HD_SLA_HOLIDAYS_MAX) {
        rc = hd_err_set(err, HD_EINVAL, "calendar: at most %d intervals and %d holidays",
                        HD_SLA_INTERVALS_MAX, HD_SLA_HOLIDAYS_MAX);
        goto fail;
    }
    hol = calloc(c->n_holidays ? c->n_holidays : 1, sizeof(*hol));
    if (!hol) {
        rc = hd_err_set(err, HD_ENOMEM, "calendar: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < c->n_intervals; i++)
        iv[i] = (hd_sla_interval){c->intervals[i]->weekday, c->intervals[i]->start_minute,
                                  c->intervals[i]->end_minute};
    for (size_t i = 0; i < c->n_holidays; i++)
        hol[i] = (hd_sla_holiday){c->holidays[i]->year, c->holidays[i]->month, c->holidays[i]->day};
    hd_sla_calendar_def def = {c->time_zone, c->n_intervals, iv, c->n_holidays, hol};
    rc = hd_sla_calendar_compile(out, &def, err);
fail:
    free(hol);
    return rc;
}

int hd_sla_config_check_calendar(const Helpdesk__V1__Calendar *c, hd_err *err)
{
    hd_sla_calendar *cal = NULL;
    int rc = check_name("calendar", c->name, err);
    if (rc < 0)
        return rc;
    rc = hd_sla_config_compile(&cal, c, err);
    hd_sla_calendar_free(cal);
    return rc;
}

int hd_sla_config_check_policy(hd_txn *txn, const Helpdesk__V1__SlaPolicy *p, hd_err *err)
{
    int seen[HD_SLA_TARGETS + 1] = {0};
    int rc = check_name("policy", p->name, err);
    if (rc < 0)
        return rc;
    if (p->n_targets == 0)
        return hd_err_set(err, HD_EINVAL, "policy.targets: at least one target");
    for (size_t i = 0; i < p->n_targets; i++) {
        int t = p->targets[i]->target;
        if (t < 1 || t > HD_SLA_TARGETS)
            return hd_err_set(err, HD_EINVAL, "policy.targets[%zu].target: unknown target %d", i,
                              t);
        if (seen[t]++)
            return hd_err_set(err, HD_EINVAL, "policy.targets[%zu]: target %d given twice", i, t);
        if (p->targets[i]->minutes < 0 || p->targets[i]->minutes > HD_SLA_TARGET_MAX_MIN)
            return hd_err_set(err, HD_EINVAL, "policy.targets[%zu].minutes: must be 0-%d, got %d",
                              i, HD_SLA_TARGET_MAX_MIN, p->targets[i]->minutes);
    }
    if (p->warning_percent < 0 || p->warning_percent > 99)
        return hd_err_set(err, HD_EINVAL, "policy.warning_percent: must be 0-99 (0 = %d)",
                          HD_SLA_DEFAULT_WARN);
    if (p->n_priorities > HD_SLA_CONDITIONS_MAX || p->n_categories > HD_SLA_CONDITIONS_MAX ||
        p->n_organization_ids > HD_SLA_CONDITIONS_MAX || p->n_channels > HD_SLA_CONDITIONS_MAX ||
        p->n_pause_statuses > HD_SLA_CONDITIONS_MAX)
        return hd_err_set(err, HD_EINVAL, "policy: at most %d entries per condition list",
                          HD_SLA_CONDITIONS_MAX);
    for (size_t i = 0; i < p->n_pause_statuses; i++)
        if (p->pause_statuses[i] < HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_NEW ||
            p->pause_statuses[i] > HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING)
            return hd_err_set(err, HD_EINVAL,
                              "policy.pause_statuses[%zu]: only NEW, OPEN or PENDING can pause", i);
    if (p->n_actions > HD_SLA_ACTIONS_MAX)
        return hd_err_set(err, HD_EINVAL, "policy.actions: at most %d", HD_SLA_ACTIONS_MAX);
    for (size_t i = 0; i < p->n_actions; i++) {
        const Helpdesk__V1__SlaAction *a = p->actions[i];
        if (!a->on_warning && !a->on_breach)
            return hd_err_set(err, HD_EINVAL, "policy.actions[%zu]: set on_warning or on_breach",
                              i);
        switch (a->kind) {
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_ESCALATE:
            if (!a->escalate_group_id && !a->escalate_staff_id)
                return hd_err_set(err, HD_EINVAL,
                                  "policy.actions[%zu]: escalate needs a group "
                                  "or staff id",
                                  i);
            break;
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_RAISE_PRIORITY:
            break;
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_EMAIL:
            if (!a->email_to || !hd_validate_email(a->email_to, strlen(a->email_to)))
                return hd_err_set(err, HD_EINVAL, "policy.actions[%zu].email_to: not an address",
                                  i);
            break;
        case HELPDESK__V1__SLA_ACTION_KIND__SLA_ACTION_KIND_WEBHOOK: {
            size_t n = a->webhook_url ? strlen(a->webhook_url) : 0;
            if (n > 2048 || !hd_validate_printable_ascii(a->webhook_url, n) ||
                (strncmp(a->webhook_url, "http://", 7) != 0 &&
                 strncmp(a->webhook_url, "https://", 8) != 0))
                return hd_err_set(err, HD_EINVAL,
                                  "policy.actions[%zu].webhook_url: need an http(s) URL", i);
            break;
        }
        default:
            return hd_err_set(err, HD_EINVAL, "policy.actions[%zu].kind: unknown", i);
        }
    }
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "policy: out of memory");
    Helpdesk__V1__Calendar *cal = NULL;
    rc = hd_sla_config_get_calendar(txn, p->calendar_id, a, &cal, err);
    hd_arena_destroy(a);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_EINVAL, "policy.calendar_id: no calendar %llu",
                          (unsigned long long)p->calendar_id);
    return rc;
}

static int put_msg(hd_txn *txn, const char *prefix, const char *seq, uint64_t *id,
                   const ProtobufCMessage *m, hd_err *err)
{
    hd_key k;
    int rc;
    if (*id == 0) {
        rc = hd_store_seq_next(txn, seq, id, err);
        if (rc < 0)
            return rc;
    } else {
        const void *v;
        size_t n;
        rc = hd_store_get(txn, HD_STORE_SLA_CONFIG, cfg_key(&k, prefix, *id), &v, &n, err);
        if (rc < 0)
            return rc;
    }
    return hd_store_put_msg(txn, HD_STORE_SLA_CONFIG, cfg_key(&k, prefix, *id), m, 0, err);
}

int hd_sla_config_put_calendar(hd_txn *txn, Helpdesk__V1__Calendar *c, hd_err *err)
{
    int rc = hd_sla_config_check_calendar(c, err);
    if (rc < 0)
        return rc;
    return put_msg(txn, HD_SLA_KEY_CALENDAR, HD_SLA_SEQ_CALENDAR, &c->id, &c->base, err);
}

int hd_sla_config_put_policy(hd_txn *txn, Helpdesk__V1__SlaPolicy *p, hd_err *err)
{
    int rc = hd_sla_config_check_policy(txn, p, err);
    if (rc < 0)
        return rc;
    return put_msg(txn, HD_SLA_KEY_POLICY, HD_SLA_SEQ_POLICY, &p->id, &p->base, err);
}

int hd_sla_config_get_calendar(hd_txn *txn, uint64_t id, hd_arena *a, Helpdesk__V1__Calendar **out,
                               hd_err *err)
{
    hd_key k;
    return hd_store_get_msg(txn, HD_STORE_SLA_CONFIG, cfg_key(&k, HD_SLA_KEY_CALENDAR, id),
                            &helpdesk__v1__calendar__descriptor, a, (ProtobufCMessage **)out, err);
}

int hd_sla_config_get_policy(hd_txn *txn, uint64_t id, hd_arena *a, Helpdesk__V1__SlaPolicy **out,
                             hd_err *err)
{
    hd_key k;
    return hd_store_get_msg(txn, HD_STORE_SLA_CONFIG, cfg_key(&k, HD_SLA_KEY_POLICY, id),
                            &helpdesk__v1__sla_policy__descriptor, a, (ProtobufCMessage **)out,
                            err);
}

typedef struct list_acc {
    hd_arena *a;
    const ProtobufCMessageDescriptor *desc;
    void **items;
    size_t n, cap;
    int rc;
    hd_err *err;
} list_acc;

static int list_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    list_acc *l = arg;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(l->a, &pa);
    ProtobufCMessage *m = protobuf_c_message_unpack(l->desc, &pa, vlen, val);
    if (!m)
        return l->rc = hd_err_set(l->err, HD_ECORRUPT, "sla config: record does not unpack");
    void **items = hd_arena_grow(l->a, l->items, l->n, &l->cap, sizeof(*items), 16);
    if (!items)
        return l->rc = hd_err_set(l->err, HD_ENOMEM, "sla config: out of memory");
    l->items = items;
    l->items[l->n++] = m;
    return 0;
}

static int list_table(hd_txn *txn, hd_table t, const char *prefix,
                      const ProtobufCMessageDescriptor *desc, hd_arena *a, void ***out, size_t *n,
                      hd_err *err)
{
    hd_key p;
    hd_key_init(&p);
    hd_key_str(&p, prefix);
    list_acc l = {a, desc, NULL, 0, 0, 0, err};
    hd_store_range r = {.prefix = &p};
    int64_t rc = hd_store_scan(txn, t, &r, list_cb, &l, err);
    if (rc < 0)
        return (int)rc;
    *out = l.items;
    *n = l.n;
    return 0;
}

int hd_sla_config_list_prefix(hd_txn *txn, const char *prefix,
                              const ProtobufCMessageDescriptor *desc, hd_arena *a, void ***out,
                              size_t *n, hd_err *err)
{
    return list_table(txn, HD_STORE_SETTINGS, prefix, desc, a, out, n, err);
}

int hd_sla_config_list_calendars(hd_txn *txn, hd_arena *a, Helpdesk__V1__Calendar ***out, size_t *n,
                                 hd_err *err)
{
    return list_table(txn, HD_STORE_SLA_CONFIG, HD_SLA_KEY_CALENDAR,
                      &helpdesk__v1__calendar__descriptor, a, (void ***)out, n, err);
}

static int cmp_policy(const void *a, const void *b)
{
    const Helpdesk__V1__SlaPolicy *x = *(Helpdesk__V1__SlaPolicy *const *)a;
    const Helpdesk__V1__SlaPolicy *y = *(Helpdesk__V1__SlaPolicy *const *)b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int hd_sla_config_list_policies(hd_txn *txn, hd_arena *a, Helpdesk__V1__SlaPolicy ***out, size_t *n,
                                hd_err *err)
{
    int rc = list_table(txn, HD_STORE_SLA_CONFIG, HD_SLA_KEY_POLICY,
                        &helpdesk__v1__sla_policy__descriptor, a, (void ***)out, n, err);
    if (rc == 0 && *n > 1)
        qsort(*out, *n, sizeof(**out), cmp_policy);
    return rc;
}

int hd_sla_config_delete_calendar(hd_txn *txn, uint64_t id, hd_err *err)
{
    hd_arena *a = hd_arena_create(0);
    Helpdesk__V1__SlaPolicy **ps = NULL;
    size_t n = 0;
    hd_key k;
    int rc;
    if (!a)
        return hd_err_set(err, HD_ENOMEM, "sla config: out of memory");
    rc = hd_sla_config_list_policies(txn, a, &ps, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (ps[i]->calendar_id == id)
            rc = hd_err_set(err, HD_ESTATE, "calendar %llu is used by policy %llu",
                            (unsigned long long)id, (unsigned long long)ps[i]->id);
    hd_arena_destroy(a);
    if (rc == 0)
        rc = hd_store_del(txn, HD_STORE_SLA_CONFIG, cfg_key(&k, HD_SLA_KEY_CALENDAR, id), err);
    return rc;
}

int hd_sla_config_delete_policy(hd_txn *txn, uint64_t id, hd_err *err)
{
    hd_key k;
    return hd_store_del(txn, HD_STORE_SLA_CONFIG, cfg_key(&k, HD_SLA_KEY_POLICY, id), err);
}

const Helpdesk__V1__SlaPolicy *hd_sla_config_match(Helpdesk__V1__SlaPolicy *const *policies,
                                                   size_t n, const Helpdesk__V1__Ticket *t,
                                                   uint64_t org_id)
{
    for (size_t i = 0; i < n; i++) {
        const Helpdesk__V1__SlaPolicy *p = policies[i];
        int ok = p->n_priorities == 0;
        for (size_t j = 0; !ok && j < p->n_priorities; j++)
            ok = p->priorities[j] == t->priority;
        if (!ok)
            continue;
        ok = p->n_channels == 0;
        for (size_t j = 0; !ok && j < p->n_channels; j++)
            ok = p->channels[j] == t->channel;
        if (!ok)
            continue;
        ok = p->n_organization_ids == 0;
        for (size_t j = 0; !ok && j < p->n_organization_ids; j++)
            ok = p->organization_ids[j] == org_id;
        if (!ok)
            continue;
        ok = p->n_categories == 0;
        for (size_t j = 0; !ok && j < p->n_categories; j++)
            ok = t->category && strcmp(p->categories[j], t->category) == 0;
        if (ok)
            return p;
    }
    return NULL;
}

void hd_sla_config_rules(hd_sla_rules *r, const Helpdesk__V1__SlaPolicy *p,
                         const hd_sla_calendar *cal)
{
    memset(r, 0, sizeof(*r));
    r->policy_id = p->id;
    r->cal = cal;
    for (int i = 0; i < HD_SLA_TARGETS; i++)
        r->target_min[i] = -1;
    for (size_t i = 0; i < p->n_targets; i++)
        if (p->targets[i]->target >= 1 && p->targets[i]->target <= HD_SLA_TARGETS)
            r->target_min[p->targets[i]->target - 1] = p->targets[i]->minutes;
    r->warning_pct = p->warning_percent > 0 ? p->warning_percent : HD_SLA_DEFAULT_WARN;
    if (p->n_pause_statuses == 0)
        r->pause_mask = 1u << HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING;
    for (size_t i = 0; i < p->n_pause_statuses; i++)
        if (p->pause_statuses[i] >= 0 && p->pause_statuses[i] < 32)
            r->pause_mask |= 1u << p->pause_statuses[i];
}
