/* Which ticket an inbound message belongs to, in this order: our own Message-ID token in
 * In-Reply-To/References; any In-Reply-To/References id in the Message-ID index (In-Reply-To,
 * then References newest first); the ticket tag in the subject ([TKT-000123], or a typed
 * TKT-000123), accepted only from the requester or a participant; a plus-address reply
 * token (support+t123.<mac>@...) in To/Cc, HMAC-checked. Also makes our Message-IDs and
 * reply addresses, which carry the same HMAC so they cannot be forged. */
#ifndef HD_MAIL_THREAD_H
#define HD_MAIL_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/mail/mime.h"
#include "server/store/store.h"

#define HD_THREAD_KEY_BYTES 32
#define HD_THREAD_ID_MAX    256 /* buffer size for hd_thread_own_msgid / reply address */

typedef struct hd_thread_conf {
    unsigned char key[HD_THREAD_KEY_BYTES]; /* HMAC key (server secret) */
    const char *msgid_domain;               /* domain of our Message-IDs; borrowed */
} hd_thread_conf;

typedef enum hd_thread_via {
    HD_THREAD_NONE = 0,
    HD_THREAD_OWN_ID,
    HD_THREAD_MSGID_INDEX,
    HD_THREAD_SUBJECT_TAG,
    HD_THREAD_REPLY_TOKEN,
} hd_thread_via;

/* Returns the static name of v ("none", "own_id", "msgid_index", "subject_tag",
 * "reply_token"). */
const char *hd_thread_via_name(hd_thread_via v);

/* Writes our Message-ID for a mail about ticket_id ("hd.t<ticket>.<nonce>.<mac>@domain",
 * no brackets) into buf (size n >= HD_THREAD_ID_MAX). nonce makes it unique (e.g. the
 * outbox id). Returns 0 or HD_EINVAL (buffer too small). */
int hd_thread_own_msgid(char *buf, size_t n, const hd_thread_conf *c, uint64_t ticket_id,
                        uint64_t nonce);

/* Returns true with *ticket_id when id is one of our Message-IDs with a valid MAC. */
bool hd_thread_own_msgid_parse(const hd_thread_conf *c, const char *id, uint64_t *ticket_id);

/* Writes the reply address for ticket_id made from support ("support@x.com" ->
 * "support+t123.<mac>@x.com") into buf (size n). Returns 0 or HD_EINVAL. */
int hd_thread_reply_address(char *buf, size_t n, const hd_thread_conf *c, const char *support,
                            uint64_t ticket_id);

/* Returns true with *ticket_id when addr carries a reply token with a valid MAC. */
bool hd_thread_reply_token_parse(const hd_thread_conf *c, const char *addr, uint64_t *ticket_id);

/* Finds a ticket number in subject: "[TKT-000123]" or a typed "TKT-000123" / "TKT-123".
 * Writes the canonical number ("TKT-000123") into buf (size n >= 24) and returns true. */
bool hd_thread_subject_number(const char *subject, char *buf, size_t n);

/* Records addr as a participant of ticket_id (write txn), so a later subject-tag reply from
 * it is accepted. Returns 0 or a store error. */
int hd_thread_add_participant(hd_txn *txn, uint64_t ticket_id, const char *addr, hd_err *err);

/* Records message_id as belonging to ticket_id: IDX_MSGID plus the ticket's ordered list
 * of ids (for References of replies). Write txn. Returns 0 or a store error. */
int hd_thread_index(hd_txn *txn, uint64_t ticket_id, const char *message_id, hd_err *err);

/* Returns in *out (arena memory, borrowed until a resets) the ticket's Message-IDs, oldest
 * first, at most max (the newest ones). Returns 0 or a store error. */
int hd_thread_ids(hd_txn *txn, hd_arena *a, uint64_t ticket_id, size_t max, const char ***out,
                  size_t *n, hd_err *err);

/* Looks id up in IDX_MSGID: returns 1 with *out = its ticket, 0 when unknown (or id is
 * empty), or a negative store error. */
int hd_thread_msgid_lookup(hd_txn *txn, const char *id, uint64_t *out, hd_err *err);

/* Resolves m to a ticket in the order above. *ticket_id = 0 and *via = HD_THREAD_NONE when
 * nothing matched (a new ticket). Tickets that do not exist are skipped. Returns 0 or a store
 * error (HD_EIO, HD_ECORRUPT). */
int hd_thread_resolve(hd_txn *txn, hd_arena *a, const hd_thread_conf *c, const hd_mime_msg *m,
                      uint64_t *ticket_id, hd_thread_via *via, hd_err *err);

#endif
