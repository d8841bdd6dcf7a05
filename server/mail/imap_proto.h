/* Incremental parser of IMAP4rev1 server responses (RFC 3501 section 7), for a client that
 * speaks IMAP itself over a connection libcurl opened (CURLOPT_CONNECT_ONLY): bytes are fed
 * as they arrive, split anywhere, and whole responses come out: tagged completions, untagged
 * data (EXISTS, FETCH with UID / RFC822.SIZE / FLAGS / BODY[]), response codes UIDVALIDITY and
 * UIDNEXT, continuation requests. Literals {n} and {n+} are taken whole, so a FETCH of many
 * messages streams through one parser. The input is anyone's bytes (fuzzed). */
#ifndef HD_MAIL_IMAP_PROTO_H
#define HD_MAIL_IMAP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"

typedef struct hd_imap_proto hd_imap_proto;

/* The kind of one complete response. */
typedef enum hd_imap_kind {
    HD_IMAP_TAGGED,   /* "A1 OK ..." */
    HD_IMAP_UNTAGGED, /* "* ..." */
    HD_IMAP_CONTINUE, /* "+ ..." */
} hd_imap_kind;

/* Status of a tagged response or an untagged OK/NO/BAD/PREAUTH/BYE (NONE for data). */
typedef enum hd_imap_status {
    HD_IMAP_NONE,
    HD_IMAP_OK,
    HD_IMAP_NO,
    HD_IMAP_BAD,
    HD_IMAP_PREAUTH,
    HD_IMAP_BYE,
} hd_imap_status;

/* Untagged data keywords the client acts on (OTHER: anything else, e.g. CAPABILITY). */
typedef enum hd_imap_data {
    HD_IMAP_DATA_NONE,
    HD_IMAP_DATA_EXISTS,
    HD_IMAP_DATA_RECENT,
    HD_IMAP_DATA_EXPUNGE,
    HD_IMAP_DATA_FETCH,
    HD_IMAP_DATA_OTHER,
} hd_imap_data;

/* One parsed response. Every pointer is borrowed from the parser until the next call of
 * hd_imap_proto_feed or hd_imap_proto_next. Strings are not NUL-terminated: use the _len. */
typedef struct hd_imap_resp {
    hd_imap_kind kind;
    const char *tag; /* TAGGED only */
    size_t tag_len;
    hd_imap_status status;
    hd_imap_data data;
    uint32_t number; /* "* <number> EXISTS|RECENT|EXPUNGE|FETCH" */
    bool has_uidvalidity, has_uidnext;
    uint32_t uidvalidity, uidnext; /* from a [UIDVALIDITY n] / [UIDNEXT n] response code */
    const char *text;              /* the text after status and code, or after the keyword */
    size_t text_len;
    /* FETCH items */
    bool has_uid, has_size, has_flags, has_body;
    uint32_t uid;
    uint64_t size;    /* RFC822.SIZE */
    bool seen;        /* FLAGS holds \Seen */
    const char *body; /* BODY[] (also the answer to BODY.PEEK[]); NULL for NIL */
    size_t body_len;
} hd_imap_resp;

/* Returns an owned parser (hd_imap_proto_free) that refuses any single response longer than
 * max_resp bytes (0 = 64 MiB), or NULL when out of memory. */
hd_imap_proto *hd_imap_proto_new(size_t max_resp);

/* Frees p; NULL is fine. */
void hd_imap_proto_free(hd_imap_proto *p);

/* Appends n bytes (copied) of server output. Returns 0 or HD_ENOMEM. Invalidates the last
 * response returned by hd_imap_proto_next. */
int hd_imap_proto_feed(hd_imap_proto *p, const void *data, size_t n, hd_err *err);

/* Takes the next complete response out of the fed bytes into *out. Returns 1 with *out set,
 * 0 when more bytes are needed, HD_ETOOBIG when the response in progress exceeds max_resp,
 * or HD_ECORRUPT (a protocol error: the connection must be dropped; later calls repeat it).
 * A line ending in "{n}" or "{n+}" announces a literal, as in every IMAP client (imaplib,
 * libcurl): resp-text that happens to end that way cannot be told apart. */
int hd_imap_proto_next(hd_imap_proto *p, hd_imap_resp *out, hd_err *err);

/* Returns the number of fed bytes not yet returned as responses. */
size_t hd_imap_proto_pending(const hd_imap_proto *p);

#endif
