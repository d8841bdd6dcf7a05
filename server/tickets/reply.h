/* Public replies on a ticket. Staff replies are sent (a public message; status -> PENDING
 * unless asked otherwise; mailed through the outbox for EMAIL tickets) or kept as drafts
 * that can be edited, sent or discarded. A customer's message reopens a pending or solved
 * ticket; on a closed one it opens a new ticket linked to it (follow-up), or reopens it
 * when the caller passes a reopen grace and the ticket closed within it; on a merged one it
 * goes to the ticket it was merged into (a closed target then always gets a follow-up). The email
 * channel calls the same apply function from its own mutation for inbound replies. */
#ifndef HD_TICKETS_REPLY_H
#define HD_TICKETS_REPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"
#include "server/tickets/tickets.h"

/* Sequence of draft ids. */
#define HD_TICKETS_SEQ_DRAFT "draft"

typedef enum hd_tickets_reply_op {
    HD_TICKETS_REPLY_SEND = 1,     /* staff reply posted now */
    HD_TICKETS_REPLY_DRAFT,        /* staff reply saved as a new draft */
    HD_TICKETS_REPLY_DRAFT_UPDATE, /* draft_id edited */
    HD_TICKETS_REPLY_DRAFT_SEND,   /* draft_id posted */
    HD_TICKETS_REPLY_DRAFT_DISCARD,
    HD_TICKETS_REPLY_CUSTOMER, /* the customer's message */
} hd_tickets_reply_op;

typedef struct hd_tickets_reply_args {
    /* Input, set by a prepare function; strings borrowed from the caller. */
    hd_tickets_reply_op op;
    uint64_t ticket_id;
    uint64_t draft_id;                       /* DRAFT_* ops */
    const char *body;                        /* not for DRAFT_SEND / DRAFT_DISCARD */
    Helpdesk__V1__TicketStatus status_after; /* UNSPECIFIED = PENDING (or keep, on update) */
    Helpdesk__V1__Channel channel;           /* customer follow-ups: channel of the new ticket;
                                                UNSPECIFIED = the closed ticket's */
    hd_tickets_actor actor;
    int64_t now_ms;
    hd_arena *arena;
    const char *request_id;  /* SEND and CUSTOMER ops; NULL or "" = no idempotency */
    uint32_t reopen_grace_s; /* CUSTOMER op: a CLOSED ticket closed at most this many seconds
                                ago is reopened instead of followed up (lifecycle.h); 0 =
                                always a follow-up (the email channel passes the mailbox's
                                reopen_grace_seconds) */
    Helpdesk__V1__Attachment **attachments; /* SEND, DRAFT, DRAFT_UPDATE (with
                                               replace_attachments); checked in form,
                                               borrowed; sizes written when applied */
    size_t n_attachments;
    bool replace_attachments; /* DRAFT_UPDATE: the draft's files become attachments */
    /* Result once applied, borrowed from the arena. For a customer message on a closed
     * ticket, follow_up is the new ticket holding the message and ticket the closed one.
     * After a sent staff reply, ticket carries the read annotations (annotate.h), e.g. the
     * addresses the mail could not go to. */
    Helpdesk__V1__Ticket *ticket;
    const Helpdesk__V1__Message *message;
    Helpdesk__V1__Draft *draft;
    Helpdesk__V1__Ticket *follow_up;
    bool reopened; /* a CLOSED ticket was reopened within reopen_grace_s */
    bool replayed; /* request_id seen before: message is the first reply's, ticket the one
                      holding it as it is now, nothing written */
    hd_tickets_committed committed;
} hd_tickets_reply_args;

/* Staff reply (mode SEND or DRAFT) from req. body_max 0 = default. actor is the staff member
 * (or service). req->request_id and req->attachments are borrowed. Returns 0 or HD_EINVAL
 * naming the field ("body: required", "status_after: ...", "request_id: ...",
 * "attachments[0].filename: ..."). Whether each attachment's content is stored is checked
 * when applied (outbox_hook.h: the checker for a draft, the outbox hook when the mail is
 * queued); attachments need an EMAIL ticket. */
int hd_tickets_reply_prepare(hd_tickets_reply_args *args, hd_arena *a,
                             const Helpdesk__V1__ReplyToTicketRequest *req, size_t body_max,
                             const hd_tickets_actor *actor, hd_err *err);

/* Sets the request id ("" = none; borrowed) of a prepared SEND or CUSTOMER reply. Returns 0
 * or HD_EINVAL ("request_id: only for mode SEND", too long, not printable ASCII). */
int hd_tickets_reply_request_id(hd_tickets_reply_args *args, const char *request_id, hd_err *err);

/* Draft edit (an empty body keeps the draft's text, allowed only when status_after or
 * replace_attachments changes something; status_after UNSPECIFIED keeps the draft's; the
 * draft's files are kept unless req->replace_attachments, then they become
 * req->attachments, borrowed, checked as for a reply). Returns 0 or HD_EINVAL naming the
 * field ("body: required unless ...", "attachments: ..." when given without
 * replace_attachments). */
int hd_tickets_draft_update_prepare(hd_tickets_reply_args *args, hd_arena *a,
                                    const Helpdesk__V1__UpdateDraftRequest *req, size_t body_max,
                                    const hd_tickets_actor *actor, hd_err *err);

/* Draft send (op DRAFT_SEND) or discard (DRAFT_DISCARD). Returns 0 or HD_EINVAL
 * ("draft_id: required"). */
int hd_tickets_draft_prepare(hd_tickets_reply_args *args, hd_arena *a, hd_tickets_reply_op op,
                             uint64_t ticket_id, uint64_t draft_id, const hd_tickets_actor *actor,
                             hd_err *err);

/* A customer's message: actor must be the ticket's customer (CUSTOMER kind) or a
 * SYSTEM/SERVICE actor acting for them (the email channel). Returns 0 or HD_EINVAL. */
int hd_tickets_customer_message_prepare(hd_tickets_reply_args *args, hd_arena *a,
                                        uint64_t ticket_id, const char *body, size_t body_max,
                                        const hd_tickets_actor *actor, hd_err *err);

/* The mutation (hd_store_apply_fn; arg is hd_tickets_reply_args *). A saved draft's files
 * are checked against the content store then (hd_tickets_attach_check), and again when it
 * is sent; any HD_EINVAL from sending a draft names it ("draft 7: attachments[0].sha256:
 * ...; the draft is kept") and fails the whole transaction, so the draft stays as it was. Returns
 * 0, HD_EINVAL, HD_ENOTFOUND ("ticket 42: not found", "draft 7: not found"; a customer writing on
 * somebody else's ticket also gets "ticket 42: not found"), HD_ESTATE (closed or merged
 * ticket for staff; lifecycle), or the engine's errors. Replayable; callable from another
 * mutation's apply (e.g. mail ingestion) with that mutation's txn. With a request_id the
 * IDEMPOTENCY record (HD_TICKETS_IDEM_REPLY) is read and written in the same txn, so
 * concurrent identical requests post one message and the others return it (replayed, from
 * the ticket it was merged into if it was); the same id with another body (for a staff
 * reply: or another ticket or author) is HD_EINVAL naming request_id. */
int hd_tickets_reply_apply(hd_txn *txn, void *arg, hd_err *err);

#endif
