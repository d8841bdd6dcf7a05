/* Mailbox configuration: the IMAP/SMTP settings of each polled mailbox, stored in MAILSTATE
 * with passwords sealed by a server key (libsodium secretbox) and never returned; plus the
 * server key file itself. */
#ifndef HD_MAIL_MAILBOX_H
#define HD_MAIL_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

#define HD_MAILBOX_KEY_BYTES       32
#define HD_MAILBOX_NAME_MAX        64
#define HD_MAILBOX_POLL_DEFAULT_S  60
#define HD_MAILBOX_MAX_MSG_DEFAULT (25u << 20)

/* Reads the 32-byte server key from path, creating it (random, mode 0600) when missing.
 * Returns 0, HD_ECORRUPT (wrong size) or HD_EIO. */
int hd_mailbox_key_load(unsigned char key[HD_MAILBOX_KEY_BYTES], const char *path, hd_err *err);

/* Checks settings for add/update: name, URLs (imap://, imaps://, smtp://, smtps://),
 * addresses, folders without CR/LF, intervals. Returns 0 or HD_EINVAL naming the field. */
int hd_mailbox_validate(const Helpdesk__V1__Mailbox *m, hd_err *err);

/* Stores a new mailbox (id assigned, defaults filled, passwords sealed). *out (arena memory,
 * borrowed until a resets) is the stored record without passwords. Returns 0, HD_EINVAL or
 * store errors. Not on the writer thread. */
int hd_mailbox_add(hd_store *s, const unsigned char *key, hd_arena *a,
                   const Helpdesk__V1__Mailbox *in, Helpdesk__V1__Mailbox **out, hd_err *err);

/* Changes the fields named in paths (n == 0: every field; passwords only when non-empty) of
 * mailbox in->id. Returns 0 with *out like hd_mailbox_add, HD_ENOTFOUND, HD_EINVAL. */
int hd_mailbox_update(hd_store *s, const unsigned char *key, hd_arena *a,
                      const Helpdesk__V1__Mailbox *in, char *const *paths, size_t n,
                      Helpdesk__V1__Mailbox **out, hd_err *err);

/* Removes mailbox id with its fetch state. Returns 0 or HD_ENOTFOUND. */
int hd_mailbox_remove(hd_store *s, uint64_t id, hd_err *err);

/* Every mailbox by id, without passwords, with its fetch state (states[i] may be NULL when
 * never polled). Arrays and records borrowed until a resets. */
int hd_mailbox_list(hd_store *s, hd_arena *a, Helpdesk__V1__Mailbox ***out,
                    Helpdesk__V1__MailboxState ***states, size_t *n, hd_err *err);

/* A mailbox's full settings for the poller and the outbox, passwords decrypted. */
typedef struct hd_mailbox_conf {
    Helpdesk__V1__Mailbox *mb; /* imap_password/smtp_password filled from the sealed ones */
} hd_mailbox_conf;

/* Reads mailbox id (0: the first enabled mailbox with an smtp_url) in txn into a.
 * Returns 0, HD_ENOTFOUND, HD_ECORRUPT (a sealed password does not open with key). */
int hd_mailbox_get_conf(hd_txn *txn, const unsigned char *key, hd_arena *a, uint64_t id,
                        hd_mailbox_conf *out, hd_err *err);

/* Every mailbox's full settings (see hd_mailbox_get_conf). */
int hd_mailbox_all_conf(hd_store *s, const unsigned char *key, hd_arena *a, hd_mailbox_conf **out,
                        size_t *n, hd_err *err);

/* Fetch state of mailbox id, or NULL (not polled yet) in *out. Returns 0 or store errors. */
int hd_mailbox_state_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__MailboxState **out,
                         hd_err *err);

#endif
