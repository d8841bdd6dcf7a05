/* Internal notes: staff-only text on a ticket, private to its author or shared with the
 * team, never shown to customers. "@name" mentions are resolved to staff members through a
 * resolver the staff module installs at start-up, and recorded on the note. */
#ifndef HD_TICKETS_NOTE_H
#define HD_TICKETS_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

#define HD_TICKETS_SEQ_NOTE     "note"
#define HD_TICKETS_MENTIONS_MAX 32 /* distinct mentions kept per note */
#define HD_TICKETS_MENTION_MAX  64 /* bytes of a mentioned name */

/* Looks up the staff member called name (n bytes, not NUL-terminated) in txn. Returns 0
 * with *staff_id, HD_ENOTFOUND (no such staff member: the mention is not recorded), or
 * another hd_ error that fails the note. Runs on the writer thread. */
typedef int (*hd_tickets_staff_lookup_fn)(void *ud, hd_txn *txn, const char *name, size_t n,
                                          uint64_t *staff_id, hd_err *err);

/* Installs the resolver (NULL: no mention resolves). Only at start-up. */
void hd_tickets_mentions_resolver(hd_tickets_staff_lookup_fn fn, void *ud);

/* Calls fn(ud, name, n) for each distinct "@name" in body, in order of first appearance,
 * at most HD_TICKETS_MENTIONS_MAX. A mention starts with '@' at the start of the text or
 * after a character that cannot be part of a name (so "ada@example.com" is no mention);
 * the name is 1-64 bytes of [A-Za-z0-9._-] without a trailing '.'. Stops at and returns
 * fn's first non-zero result; else returns 0. */
int hd_tickets_mentions_each(const char *body, int (*fn)(void *ud, const char *name, size_t n),
                             void *ud);

typedef struct hd_tickets_note_args {
    /* Input, set by hd_tickets_note_prepare; body and request_id borrowed from the request. */
    uint64_t ticket_id;
    const char *body;
    Helpdesk__V1__NoteVisibility visibility; /* never UNSPECIFIED */
    hd_tickets_actor actor;                  /* the author (STAFF) */
    int64_t now_ms;
    hd_arena *arena;
    const char *request_id; /* "" = no idempotency */
    /* Result once applied, borrowed from the arena. */
    Helpdesk__V1__Note *note;
    Helpdesk__V1__Ticket *ticket;
    bool replayed; /* request_id seen before: note is the first call's (on the ticket it
                      is on now, after merges), ticket that ticket as it is now, nothing
                      written */
    hd_tickets_committed committed;
} hd_tickets_note_args;

/* Validates req. body_max 0 = default. Returns 0 or HD_EINVAL ("body: required",
 * "visibility: unknown value 7", "request_id: must be printable ASCII"). */
int hd_tickets_note_prepare(hd_tickets_note_args *args, hd_arena *a,
                            const Helpdesk__V1__AddNoteRequest *req, size_t body_max,
                            const hd_tickets_actor *actor, hd_err *err);

/* The mutation (hd_store_apply_fn; arg is hd_tickets_note_args *): stores the note with its
 * resolved mentions in NOTES and a NOTE_ADDED event (facts "note" = visibility and
 * "mentions" = the resolved names). Returns 0, HD_ENOTFOUND, HD_ESTATE (closed ticket) or
 * the engine's errors. Replayable. With a request_id the IDEMPOTENCY record
 * (HD_TICKETS_IDEM_NOTE) is read and written in the same txn: a retry with the same
 * ticket, body, visibility and author returns the first note (replayed, even after the
 * ticket was closed or merged); the same id with anything else is HD_EINVAL naming
 * request_id. */
int hd_tickets_note_apply(hd_txn *txn, void *arg, hd_err *err);

/* Whether a viewer may read note n: staff see TEAM notes and their own PRIVATE ones;
 * customers (and everyone else) see none. */
bool hd_tickets_note_visible(const Helpdesk__V1__Note *n, const hd_tickets_actor *viewer);

#endif
