/* CSAT ratings (see rating.h). */
#include "server/tickets/rating.h"

#include <inttypes.h>
#include <string.h>

#include "server/clock/clock.h"
#include "server/tickets/change.h"
#include "server/tickets/lifecycle.h"
#include "server/validate/validate.h"

int hd_tickets_rate_prepare(hd_tickets_rate_args *args, hd_arena *a,
                            const Helpdesk__V1__RateTicketRequest *req,
                            const hd_tickets_actor *actor, hd_err *err)
{
    size_t n = strlen(req->comment);
    memset(args, 0, sizeof(*args));
    args->arena = a;
    if (!actor || actor->kind != HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER)
        return hd_err_set(err, HD_EPERM, "rating: only the customer rates a ticket");
    if (!req->ticket_id)
        return hd_err_set(err, HD_EINVAL, "ticket_id: required");
    if (req->score < 1 || req->score > 5)
        return hd_err_set(err, HD_EINVAL, "score: must be 1-5, got %" PRIu32, req->score);
    if (n > HD_TICKETS_RATING_COMMENT_MAX)
        return hd_err_set(err, HD_EINVAL, "comment: longer than %d bytes",
                          HD_TICKETS_RATING_COMMENT_MAX);
    if (!hd_validate_utf8(req->comment, n))
        return hd_err_set(err, HD_EINVAL, "comment: not valid UTF-8");
    args->ticket_id = req->ticket_id;
    args->score = req->score;
    args->comment = req->comment;
    args->actor = *actor;
    args->now_ms = hd_clock_now_ms();
    return 0;
}

int hd_tickets_rate_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_rate_args *args = arg;
    Helpdesk__V1__Rating *r;
    hd_tickets_edit e;
    int rc;

    args->ticket = NULL;
    hd_tickets_committed_reset(&args->committed);
    rc = hd_tickets_edit_begin(&e, txn, args->arena, args->ticket_id, &args->actor, args->now_ms,
                               &args->committed, err);
    if (rc < 0)
        return rc;
    if (e.t->customer_id != args->actor.id)
        return hd_err_set(err, HD_ENOTFOUND, "ticket %" PRIu64 ": not found", args->ticket_id);
    switch (e.t->status) {
    case HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED:
        break;
    case HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED:
        if (e.t->rating)
            return hd_err_set(err, HD_ESTATE,
                              "rating: ticket is CLOSED; its rating can no longer change");
        break;
    default:
        return hd_err_set(err, HD_ESTATE, "rating: ticket is %s; only solved tickets are rated",
                          hd_tickets_status_name(e.t->status));
    }
    r = hd_arena_alloc(args->arena, sizeof(*r));
    if (!r)
        return hd_err_set(err, HD_ENOMEM, "rating: out of memory");
    helpdesk__v1__rating__init(r);
    r->score = args->score;
    r->comment = (char *)args->comment;
    r->time = hd_tickets_ts_new(args->arena, args->now_ms);
    if (!r->time)
        return hd_err_set(err, HD_ENOMEM, "rating: out of memory");
    e.t->rating = r;
    rc = hd_tickets_edit_commit(&e, HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_RATED, err);
    if (rc < 0)
        return rc;
    args->ticket = e.t;
    return 0;
}
