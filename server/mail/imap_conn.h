/* One IMAP session spoken by us over a connection libcurl makes: with CURLOPT_CONNECT_ONLY,
 * libcurl 7.88 runs IMAP's whole connect phase (greeting, CAPABILITY, STARTTLS or implicit
 * TLS for imaps://, LOGIN or SASL) and stops before its own one-message-per-transfer
 * commands; from there we send tagged commands with curl_easy_send and read responses with
 * curl_easy_recv through the imap_proto parser, so FETCH can ask for many messages,
 * BODY.PEEK[] and RFC822.SIZE, which libcurl's IMAP layer cannot. Blocking, one thread. */
#ifndef HD_MAIL_IMAP_CONN_H
#define HD_MAIL_IMAP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"
#include "server/mail/imap_proto.h"

/* Connection settings, borrowed during hd_imap_conn_open. TLS is never optional once asked
 * for: imaps:// always speaks TLS, and imap:// with tls set requires STARTTLS (a server that
 * does not offer it is refused, never used in plaintext). The server certificate is always
 * verified, host name included, against ca_file when set, else the system CA store. */
typedef struct hd_imap_conf {
    const char *url; /* "imap://host:port" or "imaps://host:port", no path */
    const char *username;
    const char *password;
    const char *folder;  /* "INBOX" */
    bool tls;            /* require TLS (STARTTLS on imap://) */
    const char *ca_file; /* PEM CA bundle to trust instead of the system store; NULL or "" */
    long timeout_ms;     /* per command; 0 = 60 s */
} hd_imap_conf;

typedef struct hd_imap_conn hd_imap_conn;

/* Returns true when the session should give up now (e.g. the server is shutting down). */
typedef bool (*hd_imap_conn_cancel_fn)(void *ud);

/* Connects and logs in as c says (c->folder is not selected). max_resp bounds one response
 * (0 = 64 MiB). cancel (may be NULL; called with ud about once a second while waiting) ends
 * any wait with HD_ECANCELED. Returns 0 with *out owned (hd_imap_conn_close), or HD_EINVAL
 * (no url), HD_EPERM (login refused), HD_EUNAVAIL (connect; TLS: required but no STARTTLS,
 * certificate not verified, unreadable ca_file, handshake; the detail says which),
 * HD_ECANCELED, HD_ENOMEM. */
int hd_imap_conn_open(hd_imap_conn **out, const hd_imap_conf *c, size_t max_resp,
                      hd_imap_conn_cancel_fn cancel, void *ud, hd_err *err);

/* Sends "<tag> <cmd>\r\n" with a fresh tag; cmd must hold no CR or LF. Copies the tag (NUL
 * terminated, < 16 bytes) to tag. Returns 0, HD_EINVAL, HD_EUNAVAIL, HD_ETIMEDOUT. */
int hd_imap_conn_cmd(hd_imap_conn *c, const char *cmd, char tag[16], hd_err *err);

/* Waits (at most the conf's timeout) for the next response. Returns 0 with *r set (borrowed
 * until the next call on c), or HD_EUNAVAIL (closed, network), HD_ETIMEDOUT, HD_ECORRUPT,
 * HD_ETOOBIG. */
int hd_imap_conn_next(hd_imap_conn *c, hd_imap_resp *r, hd_err *err);

/* Reads responses until the tagged completion of tag; untagged ones go to fn (may be NULL)
 * with ud. Returns 0 on OK, HD_EPERM on NO or BAD (detail: the server's text), or the
 * errors of hd_imap_conn_next, or fn's negative return. */
int hd_imap_conn_wait(hd_imap_conn *c, const char *tag,
                      int (*fn)(void *ud, const hd_imap_resp *r, hd_err *err), void *ud,
                      hd_err *err);

/* What SELECT reports about a folder. */
typedef struct hd_imap_select {
    uint32_t uidvalidity; /* never 0 after a successful select */
    uint32_t uidnext;     /* 0 when the server did not say */
    uint32_t exists;
} hd_imap_select;

/* Selects folder (read-write) and fills *out. Returns 0, HD_EINVAL (folder empty or with CR,
 * LF, quote or backslash), HD_EPERM (the server refused it, e.g. no such folder),
 * HD_ECORRUPT (no UIDVALIDITY in the reply), or the errors of hd_imap_conn_wait. */
int hd_imap_conn_select(hd_imap_conn *c, const char *folder, hd_imap_select *out, hd_err *err);

/* Returns true when the server offers IDLE (its CAPABILITY after login). */
bool hd_imap_conn_has_idle(const hd_imap_conn *c);

/* IMAP IDLE (RFC 2177) on the selected folder: waits until the server reports new mail
 * (EXISTS or RECENT), max_ms pass, or stop (with ud; may be NULL; asked about once a second)
 * returns true; then sends DONE and reads the completion, so c is ready for commands again.
 * Returns 1 (new mail), 0 (max_ms passed), HD_ECANCELED (stop said so), HD_EINVAL (no IDLE
 * offered), HD_EPERM (IDLE refused), or the errors of hd_imap_conn_wait. */
int hd_imap_conn_idle(hd_imap_conn *c, long max_ms, hd_imap_conn_cancel_fn stop, void *ud,
                      hd_err *err);

/* Sends LOGOUT (best effort) and frees c. NULL is fine. */
void hd_imap_conn_close(hd_imap_conn *c);

#endif
