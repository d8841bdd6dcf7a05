/* SlaService: validates and maps; the rules live in server/sla. Changes go through group
 * commit (the call finishes from the store's acknowledgement); reads use a snapshot. */
#include "server/api/sla_api.h"

#include <string.h>

#include "helpdesk/v1/sla.pb-c.h"
#include "server/api/access.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/clock/clock.h"
#include "server/sla/actions.h"
#include "server/sla/config.h"
#include "server/sla/record.h"
#include "server/store/store.h"

/* ---- writes ---------------------------------------------------------------------------- */

typedef struct write_ctx {
    hd_rpc_call *call;
    int (*apply)(struct write_ctx *w, hd_txn *txn, hd_err *err);
    ProtobufCMessage *msg;  /* the calendar or policy being written (arena copy) */
    ProtobufCMessage *resp; /* response to fill on success */
    uint64_t id;
} write_ctx;

static int write_apply(hd_txn *txn, void *arg, hd_err *err)
{
    write_ctx *w = arg;
    return w->apply(w, txn, err);
}

static void write_done(void *arg, const hd_err *err)
{
    write_ctx *w = arg;
    if (err->code == HD_OK && w->msg && w->resp)
        memcpy(w->resp, w->msg, w->msg->descriptor->sizeof_message);
    hd_rpc_finish(w->call, err);
}

static int submit(hd_rpc_call *call, int (*apply)(write_ctx *, hd_txn *, hd_err *),
                  ProtobufCMessage *msg, ProtobufCMessage *resp, uint64_t id, hd_err *err)
{
    hd_app *app = hd_rpc_call_app(call);
    write_ctx *w = hd_arena_calloc(hd_rpc_call_arena(call), 1, sizeof(*w));
    if (!w)
        return hd_err_set(err, HD_ENOMEM, "sla: out of memory");
    *w = (write_ctx){call, apply, msg, resp, id};
    int rc = hd_store_submit(app->store, write_apply, write_done, w, err);
    return rc < 0 ? rc : HD_RPC_ASYNC;
}

static int apply_put_calendar(write_ctx *w, hd_txn *txn, hd_err *err)
{
    Helpdesk__V1__Calendar *c = (Helpdesk__V1__Calendar *)w->msg;
    c->id = w->id; /* replayable: a replay allocates again from the original request */
    return hd_sla_config_put_calendar(txn, c, err);
}

static int apply_put_policy(write_ctx *w, hd_txn *txn, hd_err *err)
{
    Helpdesk__V1__SlaPolicy *p = (Helpdesk__V1__SlaPolicy *)w->msg;
    p->id = w->id;
    return hd_sla_config_put_policy(txn, p, err);
}

static int apply_delete_calendar(write_ctx *w, hd_txn *txn, hd_err *err)
{
    return hd_sla_config_delete_calendar(txn, w->id, err);
}

static int apply_delete_policy(write_ctx *w, hd_txn *txn, hd_err *err)
{
    return hd_sla_config_delete_policy(txn, w->id, err);
}

static int put_calendar(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *resp,
                        hd_err *err)
{
    const Helpdesk__V1__PutCalendarRequest *req = (const void *)reqm;
    if (!req->calendar)
        return hd_err_set(err, HD_EINVAL, "calendar: required");
    int rc = hd_sla_config_check_calendar(req->calendar, err);
    if (rc < 0)
        return rc;
    return submit(call, apply_put_calendar, &req->calendar->base, resp, req->calendar->id, err);
}

static int put_policy(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *resp,
                      hd_err *err)
{
    const Helpdesk__V1__PutPolicyRequest *req = (const void *)reqm;
    if (!req->policy)
        return hd_err_set(err, HD_EINVAL, "policy: required");
    return submit(call, apply_put_policy, &req->policy->base, resp, req->policy->id, err);
}

static int delete_calendar(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *resp,
                           hd_err *err)
{
    (void)resp;
    const Helpdesk__V1__DeleteCalendarRequest *req = (const void *)reqm;
    return submit(call, apply_delete_calendar, NULL, NULL, req->id, err);
}

static int delete_policy(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *resp,
                         hd_err *err)
{
    (void)resp;
    const Helpdesk__V1__DeletePolicyRequest *req = (const void *)reqm;
    return submit(call, apply_delete_policy, NULL, NULL, req->id, err);
}

/* ---- reads ----------------------------------------------------------------------------- */

typedef int (*read_fn)(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *req,
                       ProtobufCMessage *resp, hd_err *err);

/* Runs fn in a snapshot read transaction. */
static int with_read(hd_rpc_call *call, read_fn fn, const ProtobufCMessage *req,
                     ProtobufCMessage *resp, hd_err *err)
{
    hd_app *app = hd_rpc_call_app(call);
    hd_txn *rt = NULL;
    int rc = hd_store_read_begin(app->store, &rt, err);
    if (rc < 0)
        return rc;
    rc = fn(call, rt, req, resp, err);
    hd_store_read_end(rt);
    return rc;
}

static int read_calendar(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                         ProtobufCMessage *resp, hd_err *err)
{
    const Helpdesk__V1__GetCalendarRequest *req = (const void *)reqm;
    Helpdesk__V1__Calendar *c = NULL;
    int rc = hd_sla_config_get_calendar(rt, req->id, hd_rpc_call_arena(call), &c, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, rc, "calendar %llu: not found", (unsigned long long)req->id);
    if (rc == 0)
        memcpy(resp, c, sizeof(*c));
    return rc;
}

static int read_policy(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                       ProtobufCMessage *resp, hd_err *err)
{
    const Helpdesk__V1__GetPolicyRequest *req = (const void *)reqm;
    Helpdesk__V1__SlaPolicy *p = NULL;
    int rc = hd_sla_config_get_policy(rt, req->id, hd_rpc_call_arena(call), &p, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, rc, "policy %llu: not found", (unsigned long long)req->id);
    if (rc == 0)
        memcpy(resp, p, sizeof(*p));
    return rc;
}

static int read_calendars(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                          ProtobufCMessage *respm, hd_err *err)
{
    (void)reqm;
    Helpdesk__V1__ListCalendarsResponse *resp = (void *)respm;
    return hd_sla_config_list_calendars(rt, hd_rpc_call_arena(call), &resp->calendars,
                                        &resp->n_calendars, err);
}

static int read_policies(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                         ProtobufCMessage *respm, hd_err *err)
{
    (void)reqm;
    Helpdesk__V1__ListPoliciesResponse *resp = (void *)respm;
    return hd_sla_config_list_policies(rt, hd_rpc_call_arena(call), &resp->policies,
                                       &resp->n_policies, err);
}

/* Compiles the calendar of policy_id (NULL when there is none). Owned by the caller. */
static hd_sla_calendar *policy_calendar(hd_txn *rt, hd_arena *a, uint64_t policy_id)
{
    Helpdesk__V1__SlaPolicy *p = NULL;
    Helpdesk__V1__Calendar *c = NULL;
    hd_sla_calendar *cal = NULL;
    hd_err e;
    if (hd_sla_config_get_policy(rt, policy_id, a, &p, &e) == 0 &&
        hd_sla_config_get_calendar(rt, p->calendar_id, a, &c, &e) == 0)
        hd_sla_config_compile(&cal, c, &e);
    return cal;
}

static int read_ticket_sla(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                           ProtobufCMessage *resp, hd_err *err)
{
    const Helpdesk__V1__GetTicketSlaRequest *req = (const void *)reqm;
    hd_arena *a = hd_rpc_call_arena(call);
    hd_sla_ticket t;
    Helpdesk__V1__TicketSla *m = NULL;
    int rc = hd_sla_record_load(rt, req->ticket_id, &t, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, rc, "ticket %llu: no SLA", (unsigned long long)req->ticket_id);
    if (rc < 0)
        return rc;
    hd_sla_calendar *cal = policy_calendar(rt, a, t.policy_id);
    rc = hd_sla_record_to_proto(&t, cal, hd_clock_now_ms() / 1000, a, &m, err);
    hd_sla_calendar_free(cal);
    if (rc == 0)
        memcpy(resp, m, sizeof(*m));
    return rc;
}

typedef struct breach_scan {
    Helpdesk__V1__ListBreachesResponse *resp;
    const Helpdesk__V1__ListBreachesRequest *req;
    hd_arena *a;
    int64_t end_s;
    size_t cap;
    int rc;
    hd_err *err;
} breach_scan;

static int breach_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    breach_scan *b = arg;
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(b->a, &pa);
    Helpdesk__V1__SlaBreach *m = helpdesk__v1__sla_breach__unpack(&pa, vlen, val);
    if (!m)
        return b->rc = hd_err_set(b->err, HD_ECORRUPT, "sla breach record does not unpack");
    if (m->time && m->time->seconds >= b->end_s)
        return 1;
    if (b->req->group_id && m->group_id != b->req->group_id)
        return 0;
    if (!b->req->include_warnings && m->kind != HELPDESK__V1__SLA_EVENT_KIND__SLA_EVENT_KIND_BREACH)
        return 0;
    b->resp->breaches[b->resp->n_breaches++] = m;
    return b->resp->n_breaches == b->cap ? 1 : 0;
}

static int read_breaches(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                         ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__ListBreachesRequest *req = (const void *)reqm;
    Helpdesk__V1__ListBreachesResponse *resp = (void *)respm;
    hd_arena *a = hd_rpc_call_arena(call);
    if (req->page_size < 0 || req->page_size > 1000)
        return hd_err_set(err, HD_EINVAL, "page_size: must be 0-1000");
    breach_scan b = {resp, req, a, INT64_MAX, req->page_size ? (size_t)req->page_size : 100,
                     0,    err};
    if (req->end_time)
        b.end_s = req->end_time->seconds;
    resp->breaches = hd_arena_calloc(a, b.cap, sizeof(*resp->breaches));
    if (!resp->breaches)
        return hd_err_set(err, HD_ENOMEM, "sla: out of memory");
    hd_key prefix, start;
    hd_key_init(&prefix);
    hd_key_str(&prefix, HD_SLA_KEY_BREACH);
    start = prefix;
    hd_key_i64(&start, req->start_time ? req->start_time->seconds : INT64_MIN);
    hd_store_range r = {.prefix = &prefix, .start = &start};
    int64_t n = hd_store_scan(rt, HD_STORE_SETTINGS, &r, breach_cb, &b, err);
    return n < 0 ? (int)n : 0;
}

static int read_deliveries(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                           ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__ListDeliveriesRequest *req = (const void *)reqm;
    Helpdesk__V1__ListDeliveriesResponse *resp = (void *)respm;
    void **v = NULL;
    size_t n = 0;
    int rc =
        hd_sla_config_list_prefix(rt, HD_SLA_KEY_DELIVERY, &helpdesk__v1__sla_delivery__descriptor,
                                  hd_rpc_call_arena(call), &v, &n, err);
    if (rc < 0)
        return rc;
    resp->deliveries = (Helpdesk__V1__SlaDelivery **)v;
    for (size_t i = 0; i < n; i++) {
        Helpdesk__V1__SlaDelivery *d = v[i];
        if (!req->failed_only || (!d->delivered && d->last_error && *d->last_error))
            resp->deliveries[resp->n_deliveries++] = d;
    }
    return 0;
}

static int read_preview(hd_rpc_call *call, hd_txn *rt, const ProtobufCMessage *reqm,
                        ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__PreviewDueRequest *req = (const void *)reqm;
    Helpdesk__V1__PreviewDueResponse *resp = (void *)respm;
    hd_arena *a = hd_rpc_call_arena(call);
    Helpdesk__V1__Calendar *c = NULL;
    int minutes = req->minutes;
    uint64_t cal_id = req->calendar_id;
    int rc;
    if (!req->start_time)
        return hd_err_set(err, HD_EINVAL, "start_time: required");
    if (!cal_id) {
        Helpdesk__V1__SlaPolicy *p = NULL;
        if (!req->policy_id)
            return hd_err_set(err, HD_EINVAL, "calendar_id or policy_id: required");
        rc = hd_sla_config_get_policy(rt, req->policy_id, a, &p, err);
        if (rc == HD_ENOTFOUND)
            return hd_err_set(err, HD_EINVAL, "policy_id: no policy %llu",
                              (unsigned long long)req->policy_id);
        if (rc < 0)
            return rc;
        cal_id = p->calendar_id;
        int found = 0;
        for (size_t i = 0; i < p->n_targets; i++)
            if (p->targets[i]->target == req->target) {
                minutes = p->targets[i]->minutes;
                found = 1;
            }
        if (!found)
            return hd_err_set(err, HD_EINVAL, "target: policy %llu has no target %d",
                              (unsigned long long)req->policy_id, req->target);
    }
    if (minutes < 0)
        return hd_err_set(err, HD_EINVAL, "minutes: must be >= 0");
    rc = hd_sla_config_get_calendar(rt, cal_id, a, &c, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_EINVAL, "calendar_id: no calendar %llu",
                          (unsigned long long)cal_id);
    if (rc < 0)
        return rc;
    hd_sla_calendar *cal = NULL;
    int64_t due = 0;
    rc = hd_sla_config_compile(&cal, c, err);
    if (rc == 0)
        rc = hd_sla_calendar_add(cal, req->start_time->seconds, (int64_t)minutes * 60, &due, err);
    hd_sla_calendar_free(cal);
    if (rc < 0)
        return rc;
    resp->due_time = hd_sla_record_ts(a, due);
    resp->minutes = minutes;
    return 0;
}

#define READER(name, fn)                                                                           \
    static int name(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,        \
                    hd_err *err)                                                                   \
    {                                                                                              \
        return with_read(call, fn, req, resp, err);                                                \
    }

READER(get_calendar, read_calendar)
READER(get_policy, read_policy)
READER(list_calendars, read_calendars)
READER(list_policies, read_policies)
READER(list_breaches, read_breaches)
READER(list_deliveries, read_deliveries)
READER(preview_due, read_preview)

static int get_ticket_sla(hd_rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                          hd_err *err)
{
    if (hd_rpc_call_identity(call)->kind == HD_PRINCIPAL_CUSTOMER)
        return hd_err_set(err, HD_EPERM, "SLA state is for staff");
    /* Agents: only tickets of their groups (server/api/access.h). */
    int rc = hd_access_ticket_id(
        ((hd_app *)hd_rpc_call_app(call))->store, hd_rpc_call_identity(call),
        ((const Helpdesk__V1__GetTicketSlaRequest *)req)->ticket_id, HD_ACCESS_READ, err);
    if (rc < 0)
        return rc;
    return with_read(call, read_ticket_sla, req, resp, err);
}

#define ROW(name, fn, req, resp, perm)                                                             \
    {                                                                                              \
        .path = "/helpdesk.v1.SlaService/" name, .kind = HD_RPC_UNARY,                             \
        .request = &helpdesk__v1__##req##__descriptor,                                             \
        .response = &helpdesk__v1__##resp##__descriptor, .unary = fn, .permission = perm,          \
    }

static const hd_rpc_method methods[] = {
    ROW("PutCalendar", put_calendar, put_calendar_request, calendar, HD_PERM_ADMIN),
    ROW("GetCalendar", get_calendar, get_calendar_request, calendar, HD_PERM_REPORT_READ),
    ROW("ListCalendars", list_calendars, list_calendars_request, list_calendars_response,
        HD_PERM_REPORT_READ),
    ROW("DeleteCalendar", delete_calendar, delete_calendar_request, delete_calendar_response,
        HD_PERM_ADMIN),
    ROW("PutPolicy", put_policy, put_policy_request, sla_policy, HD_PERM_ADMIN),
    ROW("GetPolicy", get_policy, get_policy_request, sla_policy, HD_PERM_REPORT_READ),
    ROW("ListPolicies", list_policies, list_policies_request, list_policies_response,
        HD_PERM_REPORT_READ),
    ROW("DeletePolicy", delete_policy, delete_policy_request, delete_policy_response,
        HD_PERM_ADMIN),
    ROW("GetTicketSla", get_ticket_sla, get_ticket_sla_request, ticket_sla, HD_PERM_TICKET_READ),
    ROW("ListBreaches", list_breaches, list_breaches_request, list_breaches_response,
        HD_PERM_REPORT_READ),
    ROW("PreviewDue", preview_due, preview_due_request, preview_due_response, HD_PERM_REPORT_READ),
    ROW("ListDeliveries", list_deliveries, list_deliveries_request, list_deliveries_response,
        HD_PERM_REPORT_READ),
};

const hd_rpc_method *hd_sla_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
