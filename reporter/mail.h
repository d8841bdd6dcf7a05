/* Emailing a finished report: one multipart message per recipient (so no manager sees the
 * others' addresses) with a short text + HTML summary of the headline figures and the
 * report files attached, composed with server/mail/compose.h (GMime) and sent with
 * server/mail/smtp.h (libcurl). Temporary failures are retried with backoff; the outcome
 * of every recipient is reported. */
#ifndef HD_REPORTER_MAIL_H
#define HD_REPORTER_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "reporter/model.h"
#include "server/common/err.h"

typedef struct hd_mail_opts {
    const char *smtp_url;
    const char *username, *password; /* NULL = no AUTH */
    int tls;                         /* require TLS (off only for loopback tests) */
    const char *from;
    int retries;        /* extra attempts per recipient after a temporary failure */
    int backoff_ms;     /* first retry delay, doubled each time (0 in tests) */
    const char *run_id; /* unique per run, used in Message-IDs */
} hd_mail_opts;

/* Writes the summary of m as plain text and HTML (owned, free()). Returns HD_OK or
 * HD_ENOMEM. */
int hd_mail_summary(char **text, char **html, const hd_model *m);

/* Sends the files (paths, borrowed) to each recipient. *sent gets how many recipients
 * accepted the message. Returns HD_OK when all did, else the last failure's code (detail
 * names the recipient); HD_EIO when a file cannot be read (nothing is sent). */
int hd_mail_send(const hd_mail_opts *o, const hd_model *m, const char *const *recipients,
                 size_t n_recipients, const char *const *files, size_t n_files, size_t *sent,
                 hd_err *err);

#endif
