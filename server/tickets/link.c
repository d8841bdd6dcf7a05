/* Ticket links (see link.h). */
#include "server/tickets/link.h"

#include <inttypes.h>
#include <string.h>

Helpdesk__V1__LinkKind hd_tickets_link_reverse(Helpdesk__V1__LinkKind k)
{
    switch (k) {
    case HELPDESK__V1__LINK_KIND__LINK_KIND_FOLLOW_UP_OF:
        return HELPDESK__V1__LINK_KIND__LINK_KIND_FOLLOWED_UP_BY;
    case HELPDESK__V1__LINK_KIND__LINK_KIND_FOLLOWED_UP_BY:
        return HELPDESK__V1__LINK_KIND__LINK_KIND_FOLLOW_UP_OF;
    case HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_INTO:
        return HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_FROM;
    case HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_FROM:
        return HELPDESK__V1__LINK_KIND__LINK_KIND_MERGED_INTO;
    default:
        return k;
    }
}

static long find(const Helpdesk__V1__Ticket *t, uint64_t other, Helpdesk__V1__LinkKind kind)
{
    for (size_t i = 0; i < t->n_links; i++)
        if (t->links[i]->ticket_id == other && t->links[i]->kind == kind)
            return (long)i;
    return -1;
}

int hd_tickets__link_add(hd_tickets_edit *e, uint64_t other, Helpdesk__V1__LinkKind kind,
                         bool *added, hd_err *err)
{
    Helpdesk__V1__Ticket *t = e->t;
    *added = false;
    if (find(t, other, kind) >= 0)
        return 0;
    Helpdesk__V1__TicketLink **links = hd_arena_alloc(e->arena, (t->n_links + 1) * sizeof(*links));
    Helpdesk__V1__TicketLink *l = hd_arena_alloc(e->arena, sizeof(*l));
    if (!links || !l)
        return hd_err_set(err, HD_ENOMEM, "links: out of memory");
    helpdesk__v1__ticket_link__init(l);
    l->ticket_id = other;
    l->kind = kind;
    l->create_time = hd_tickets_ts_new(e->arena, e->now_ms);
    if (!l->create_time)
        return hd_err_set(err, HD_ENOMEM, "links: out of memory");
    if (t->n_links)
        memcpy(links, t->links, t->n_links * sizeof(*links));
    links[t->n_links] = l;
    t->links = links;
    t->n_links++;
    *added = true;
    return 0;
}

static bool link_remove(Helpdesk__V1__Ticket *t, uint64_t other, Helpdesk__V1__LinkKind kind)
{
    long i = find(t, other, kind);
    if (i < 0)
        return false;
    memmove(&t->links[i], &t->links[i + 1], (t->n_links - (size_t)i - 1) * sizeof(*t->links));
    t->n_links--;
    return true;
}

static const char *kind_name(Helpdesk__V1__LinkKind k)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&helpdesk__v1__link_kind__descriptor, (int)k);
    return v ? v->name : "?";
}

/* Adds or removes one side's link and records the fact; commits with kind ev_kind. */
static int one_side(hd_tickets_edit *e, uint64_t other, Helpdesk__V1__LinkKind kind, bool remove,
                    Helpdesk__V1__TicketEventKind ev_kind, hd_err *err)
{
    char num[24];
    bool changed = false;
    int rc = 0;

    if (remove)
        changed = link_remove(e->t, other, kind);
    else
        rc = hd_tickets__link_add(e, other, kind, &changed, err);
    if (rc < 0 || !changed)
        return rc;
    if (kind == HELPDESK__V1__LINK_KIND__LINK_KIND_FOLLOW_UP_OF)
        e->t->follow_up_of = remove ? (e->t->follow_up_of == other ? 0 : e->t->follow_up_of)
                                    : (e->t->follow_up_of ? e->t->follow_up_of : other);
    const char *text = hd_arena_printf(e->arena, "%s %s", kind_name(kind),
                                       hd_tickets_number(num, sizeof(num), other));
    if (!text)
        return hd_err_set(err, HD_ENOMEM, "links: out of memory");
    e->related_ticket_id = other;
    rc = hd_tickets_edit_fact(e, "link", remove ? text : "", remove ? "" : text, err);
    if (rc < 0)
        return rc;
    return hd_tickets_edit_commit(e, ev_kind, err);
}

int hd_tickets_link_apply(hd_txn *txn, void *arg, hd_err *err)
{
    hd_tickets_link_args *x = arg;
    hd_tickets_edit a, b;
    int rc;

    hd_tickets_committed_reset(&x->w.committed);
    x->ticket = x->other = NULL;
    if (x->ticket_id == x->other_id)
        return hd_err_set(err, HD_EINVAL, "other_id: a ticket cannot be linked to itself");
    if (x->kind != HELPDESK__V1__LINK_KIND__LINK_KIND_RELATED &&
        x->kind != HELPDESK__V1__LINK_KIND__LINK_KIND_FOLLOW_UP_OF)
        return hd_err_set(err, HD_EINVAL, "kind: must be RELATED or FOLLOW_UP_OF, not %s",
                          kind_name(x->kind));
    rc = hd_tickets__work_begin(&a, txn, &x->w, x->ticket_id, err);
    if (rc == 0)
        rc = hd_tickets__work_begin(&b, txn, &x->w, x->other_id, err);
    if (rc < 0)
        return rc;
    /* A closed ticket takes only being followed up (lifecycle.h: the FOLLOW_UP kind). */
    Helpdesk__V1__TicketEventKind other_kind =
        x->kind == HELPDESK__V1__LINK_KIND__LINK_KIND_FOLLOW_UP_OF
            ? HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_FOLLOW_UP
            : HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_LINKED;
    rc = one_side(&a, x->other_id, x->kind, x->remove,
                  HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_LINKED, err);
    if (rc == 0)
        rc = one_side(&b, x->ticket_id, hd_tickets_link_reverse(x->kind), x->remove, other_kind,
                      err);
    if (rc < 0)
        return rc;
    x->ticket = a.t;
    x->other = b.t;
    return 0;
}
