/* IMAP over libcurl: the commands the poller needs (SELECT for UIDVALIDITY, UID SEARCH for
 * new UIDs, UID FETCH RFC822.SIZE before any download, the message itself, UID STORE \Seen or
 * UID MOVE after commit), each as a configured easy handle for a curl multi, and parsers of
 * the untagged responses libcurl hands back. The parsers take anyone's bytes (fuzzed). */
#ifndef HD_MAIL_IMAP_H
#define HD_MAIL_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "server/common/arena.h"
#include "server/common/err.h"

/* Connection settings, borrowed while a handle made from them is in use. */
typedef struct hd_imap_conf {
    const char *url; /* "imap://host:port" or "imaps://host:port", no path */
    const char *username;
    const char *password;
    const char *folder; /* "INBOX" */
    bool tls;           /* require TLS (STARTTLS on imap://) */
    long timeout_ms;    /* per command; 0 = 60 s */
} hd_imap_conf;

/* Response or message bytes collected by a handle's write callback, capped at max (0 = no
 * cap): past the cap the transfer is aborted and `over` is set (libcurl's max-filesize does
 * not apply to IMAP). Owned by the caller; data is malloc'd (free with hd_imap_buf_free). */
typedef struct hd_imap_buf {
    char *data;
    size_t len, cap;
    size_t max;
    bool over;
} hd_imap_buf;

/* Frees b->data and empties b. */
void hd_imap_buf_free(hd_imap_buf *b);

/* Kinds of command handle. */
typedef enum hd_imap_cmd {
    HD_IMAP_SELECT, /* SELECT "folder": UIDVALIDITY and EXISTS */
    HD_IMAP_SEARCH, /* UID SEARCH UID <from>:<to> (to 0 = *) */
    HD_IMAP_SIZES,  /* UID FETCH <set> (UID RFC822.SIZE); libcurl 7.88 fails (CURLE_RECV_ERROR)
                       on custom FETCH responses longer than ~1 KB: small sets only */
    HD_IMAP_LARGER, /* UID SEARCH UID <from>:* LARGER <size>: the RFC822.SIZE check, server-side,
                       answered in one line */
    HD_IMAP_FETCH,  /* the whole message of one UID (checked against UIDVALIDITY) */
    HD_IMAP_SEEN,   /* UID STORE <set> +FLAGS.SILENT (\Seen) */
    HD_IMAP_MOVE,   /* UID MOVE <set> "processed folder" */
} hd_imap_cmd;

/* Arguments of one command; unused fields are ignored. */
typedef struct hd_imap_args {
    uint32_t uid_validity; /* FETCH */
    uint32_t uid;          /* FETCH; SEARCH, LARGER: first UID */
    uint32_t uid_to;       /* SEARCH, LARGER: last UID of the window; 0 = "*" */
    uint64_t size;         /* LARGER: RFC822.SIZE limit */
    const char *set;       /* SIZES, SEEN, MOVE: a UID set "1:5,9" */
    const char *target;    /* MOVE: destination folder */
} hd_imap_args;

/* Returns an owned easy handle (curl_easy_cleanup) configured for cmd, writing into out
 * (borrowed until the transfer ends), or NULL with err set: HD_EINVAL (folder or target with
 * CR, LF, quote or backslash; no url), HD_ENOMEM. */
CURL *hd_imap_easy(const hd_imap_conf *c, hd_imap_cmd cmd, const hd_imap_args *args,
                   hd_imap_buf *out, hd_err *err);

/* Maps a finished transfer to 0 or HD_EUNAVAIL/HD_EPERM/HD_ETOOBIG with detail. */
int hd_imap_result(CURL *h, CURLcode cc, const hd_imap_buf *out, hd_err *err);

/* Parses SELECT output: sets *uid_validity (0 if absent) and *exists. Returns 0, or
 * HD_EINVAL when no UIDVALIDITY was found. */
int hd_imap_parse_select(const char *buf, size_t n, uint32_t *uid_validity, uint32_t *exists,
                         hd_err *err);

/* Returns UIDNEXT from SELECT output, 0 when absent. */
uint32_t hd_imap_parse_uidnext(const char *buf, size_t n);

/* Parses "* SEARCH 1 2 3" lines into ascending UIDs >= min_uid (arena memory). Returns 0,
 * HD_ENOMEM, or HD_EINVAL on a malformed number. */
int hd_imap_parse_search(const char *buf, size_t n, uint32_t min_uid, hd_arena *a, uint32_t **uids,
                         size_t *count, hd_err *err);

typedef struct hd_imap_size {
    uint32_t uid;
    uint64_t size;
} hd_imap_size;

/* Parses "* n FETCH (UID u RFC822.SIZE s)" lines (attributes in any order). Returns 0,
 * HD_ENOMEM, HD_EINVAL. */
int hd_imap_parse_sizes(const char *buf, size_t n, hd_arena *a, hd_imap_size **out, size_t *count,
                        hd_err *err);

/* Writes the ascending uids as an IMAP set ("1:3,7") into arena memory; NULL if out of
 * memory. */
char *hd_imap_uid_set(hd_arena *a, const uint32_t *uids, size_t n);

#endif
