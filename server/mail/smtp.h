/* Sending one composed message over SMTP with libcurl (STARTTLS, implicit TLS, AUTH).
 * Every address is validated before it reaches libcurl, which would pass CR/LF through
 * to the server. No store dependency: the outbox worker and the reporter both use it. */
#ifndef HD_MAIL_SMTP_H
#define HD_MAIL_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "server/common/err.h"

/* Connection settings; strings borrowed for the call. */
typedef struct hd_smtp_conf {
    const char *url;      /* "smtp://host:port" (STARTTLS when tls) or "smtps://host:port" */
    const char *username; /* NULL or "" = no AUTH */
    const char *password;
    bool tls;            /* require TLS (STARTTLS on smtp://); off only for loopback tests */
    const char *ca_file; /* NULL = system CAs */
    long timeout_ms;     /* whole transaction; 0 = 30 s */
} hd_smtp_conf;

/* Outcome detail of a failed send, so callers can decide between retry and dead letter. */
typedef struct hd_smtp_result {
    long response_code; /* last SMTP reply code, 0 if none (connect failure) */
    bool permanent;     /* 5xx reply: retrying will not help */
} hd_smtp_result;

/* Sends data (len bytes of RFC 5322 message; bare LF line ends are converted to CRLF and
 * leading dots are left to libcurl's dot-stuffing) from `from` to the n_rcpt addresses in
 * rcpt. res may be NULL. Returns 0 once the server accepted it, HD_EINVAL (an address that
 * fails hd_validate_email, e.g. one carrying CR/LF; nothing is sent), HD_EUNAVAIL
 * (connection, TLS or temporary 4xx failure), HD_EPERM (authentication refused) or HD_EIO
 * (permanent 5xx rejection); detail has the server's reply. */
int hd_smtp_send(const hd_smtp_conf *conf, const char *from, const char *const *rcpt, size_t n_rcpt,
                 const char *data, size_t len, hd_smtp_result *res, hd_err *err);

/* Connects (and authenticates when configured) without sending mail, for "test connection".
 * Returns 0 or an error as hd_smtp_send. */
int hd_smtp_probe(const hd_smtp_conf *conf, hd_err *err);

#endif
