/* UpdateTicket (see update.h). */
#include "server/tickets/update.h"

#include <string.h>

#include "server/clock/clock.h"
#include "server/tickets/change.h"
#include "server/tickets/fields.h"

static const struct {
    const char *path;
    unsigned bit;
} paths[] = {
    {"subject", HD_TICKETS_UPD_SUBJECT},
    {"priority", HD_TICKETS_UPD_PRIORITY},
    {"category", HD_TICKETS_UPD_CATEGORY},
    {"tags", HD_TICKETS_UPD_TAGS},
    {"custom_fields", HD_TICKETS_UPD_CUSTOM_FIELDS},
    {"status", HD_TICKETS_UPD_STATUS},
};

static int mask_of(const Google__Protobuf__FieldMask *fm, const Helpdesk__V1__Ticket *t,
                   unsigned *out, hd_err *err)
{
    unsigned m = 0;
    if (!fm || fm->n_paths == 0) {
        /* Empty mask: the settable fields the caller filled in. */
        m |= t->subject[0] ? HD_TICKETS_UPD_SUBJECT : 0;
        m |= t->priority ? HD_TICKETS_UPD_PRIORITY : 0;
        m |= t->category[0] ? HD_TICKETS_UPD_CATEGORY : 0;
        m |= t->n_tags ? HD_TICKETS_UPD_TAGS : 0;
        m |= t->n_custom_fields ? HD_TICKETS_UPD_CUSTOM_FIELDS : 0;
        m |= t->status ? HD_TICKETS_UPD_STATUS : 0;
        if (!m)
            return hd_err_set(err, HD_EINVAL, "update_mask: nothing to update");
        *out = m;
        return 0;
    }
    for (size_t i = 0; i < fm->n_paths; i++) {
        unsigned bit = 0;
        for (size_t j = 0; j < sizeof(paths) / sizeof(paths[0]); j++)
            bit = strcmp(fm->paths[i], paths[j].path) == 0 ? paths[j].bit : bit;
        if (!bit)
            return hd_err_set(err, HD_EINVAL, "update_mask: unknown or read-only field \"%.64s\"",
                              fm->paths[i]);
        m |= bit;
    }
    *out = m;
    return 0;
}

int hd_tickets_update_prepare(hd_tickets_update_args *args, hd_arena *a,
                              const Helpdesk__V1__UpdateTicketRequest *req,
                              const hd_tickets_actor *actor, hd_err *err)
{
    const Helpdesk__V1__Ticket *t = req->ticket;
    int rc;

    memset(args, 0, sizeof(*args));
    args->arena = a;
    if (!t)
        return hd_err_set(err, HD_EINVAL, "ticket: required");
    if (!t->id)
        return hd_err_set(err, HD_EINVAL, "ticket.id: required");
    args->ticket_id = t->id;
    rc = mask_of(req->update_mask, t, &args->mask, err);
    if (rc < 0)
        return rc;
    if (args->mask & HD_TICKETS_UPD_SUBJECT) {
        rc = hd_tickets__check_line("subject", t->subject, HD_TICKETS_SUBJECT_MAX, true, err);
        if (rc < 0)
            return rc;
        args->subject = t->subject;
    }
    if (args->mask & HD_TICKETS_UPD_PRIORITY) {
        if (!t->priority ||
            !hd_tickets__enum_known(&helpdesk__v1__priority__descriptor, (int)t->priority))
            return hd_err_set(err, HD_EINVAL, "priority: must be URGENT, HIGH, NORMAL or LOW");
        args->priority = t->priority;
    }
    if (args->mask & HD_TICKETS_UPD_CATEGORY) {
        rc = hd_tickets__check_line("category", t->category, HD_TICKETS_CATEGORY_MAX, false, err);
        if (rc < 0)
            return rc;
        args->category = t->category;
    }
    if (args->mask & HD_TICKETS_UPD_TAGS) {
        rc = hd_tickets__check_tags(a, t->tags, t->n_tags, &args->tags, &args->n_tags, err);
        if (rc < 0)
            return rc;
    }
    if (args->mask & HD_TICKETS_UPD_CUSTOM_FIELDS) {
        rc = hd_tickets__check_custom_fields(t->custom_fields, t->n_custom_fields, err);
        if (rc < 0)
            return rc;
        args->custom_fields = t->custom_fields;
        args->n_custom_fields = t->n_custom_fields;
    }
    if (args->mask & HD_TICKETS_UPD_STATUS) {
        if (!t->status ||
            !hd_tickets__enum_known(&helpdesk__v1__ticket_status__descriptor, (int)t->status))
            return hd_err_set(err, HD_EINVAL, "status: unknown value %d", (int)t->status);
        if (t->status == HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_MERGED)
            return hd_err_set(err, HD_EINVAL, "status: MERGED is set by MergeTickets");
        args->status = t->status;
    }
    args->actor.kind = actor ? actor->kind : HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM;
    args->actor.id = actor ? actor->id : 0;
    args->now_ms = hd_clock_now_ms();
    return 0;
}

int hd_tickets_update_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_update_args *args = arg;
    hd_tickets_edit e;
    int rc;

    args->ticket = NULL;
    hd_tickets_committed_reset(&args->committed);
    rc = hd_tickets_edit_begin(&e, txn, args->arena, args->ticket_id, &args->actor, args->now_ms,
                               &args->committed, err);
    if (rc < 0)
        return rc;
    if (args->mask & HD_TICKETS_UPD_SUBJECT)
        e.t->subject = (char *)args->subject;
    if (args->mask & HD_TICKETS_UPD_PRIORITY)
        e.t->priority = args->priority;
    if (args->mask & HD_TICKETS_UPD_CATEGORY)
        e.t->category = (char *)args->category;
    if (args->mask & HD_TICKETS_UPD_TAGS) {
        e.t->tags = args->tags;
        e.t->n_tags = args->n_tags;
    }
    if (args->mask & HD_TICKETS_UPD_CUSTOM_FIELDS) {
        e.t->custom_fields = args->custom_fields;
        e.t->n_custom_fields = args->n_custom_fields;
    }
    if (args->mask & HD_TICKETS_UPD_STATUS) {
        rc = hd_tickets_edit_status(&e, args->status, err);
        if (rc < 0)
            return rc;
    }
    rc = hd_tickets_edit_commit(
        &e,
        e.t->status != e.before->status
            ? HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_STATUS_CHANGED
            : HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_UPDATED,
        err);
    if (rc < 0)
        return rc;
    args->ticket = e.t;
    return 0;
}
