/* What each kind of reader may see of a ticket's thread (see hd_tickets_thread_redact). */
#include <string.h>

#include "server/tickets/note.h"
#include "server/tickets/tickets.h"

#define EVK(x) HELPDESK__V1__TICKET_EVENT_KIND__TICKET_EVENT_KIND_##x

static bool event_public(Helpdesk__V1__TicketEventKind k)
{
    return k == EVK(CREATED) || k == EVK(STATUS_CHANGED) || k == EVK(MESSAGE_ADDED) ||
           k == EVK(RATED) || k == EVK(FOLLOW_UP) || k == EVK(MERGED);
}

static bool field_public(const char *f)
{
    static const char *const internal[] = {"tags", "custom_fields", "assignee_id", "group_id",
                                           "note", "mentions",      "draft"};
    for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
        if (strcmp(f, internal[i]) == 0)
            return false;
    return true;
}

/* Keeps only the public field changes of ev (in place). */
static void strip_changes(Helpdesk__V1__TicketEvent *ev)
{
    size_t n = 0;
    for (size_t i = 0; i < ev->n_changes; i++)
        if (field_public(ev->changes[i]->field))
            ev->changes[n++] = ev->changes[i];
    ev->n_changes = n;
}

void hd_tickets_thread_redact(hd_tickets_thread *th, const hd_tickets_actor *viewer)
{
    bool customer = !viewer || viewer->kind == HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_CUSTOMER;
    size_t n = 0;
    for (size_t i = 0; i < th->n_notes; i++)
        if (hd_tickets_note_visible(th->notes[i], viewer))
            th->notes[n++] = th->notes[i];
    th->n_notes = n;
    if (!customer)
        return;
    th->n_drafts = 0;
    n = 0;
    for (size_t i = 0; i < th->n_events; i++) {
        if (!event_public(th->events[i]->kind))
            continue;
        strip_changes(th->events[i]);
        th->events[n++] = th->events[i];
    }
    th->n_events = n;
}
