/* Inbound mail parsing with GMime 3: the header facts threading and loop detection need,
 * the body as UTF-8 text (text/plain preferred, HTML converted when alone), the new text
 * of a reply separated from its quoted history, attachments content-addressed by SHA-256,
 * and delivery status reports. Everything outside input is bounded by hd_mime_limits. */
#ifndef HD_MAIL_MIME_H
#define HD_MAIL_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/common/arena.h"
#include "server/common/err.h"

#define HD_MIME_DEPTH_MAX_DEFAULT    16
#define HD_MIME_PARTS_MAX_DEFAULT    256
#define HD_MIME_ATTACH_COUNT_DEFAULT 32
#define HD_MIME_ATTACH_BYTES_DEFAULT (10u << 20) /* per attachment */
#define HD_MIME_REFERENCES_MAX       64
#define HD_MIME_ADDRS_MAX            64
#define HD_MIME_SYNTH_DOMAIN         "synthetic.helpdesk.invalid"

/* Limits; zero fields mean the defaults above. */
typedef struct hd_mime_limits {
    unsigned depth_max;    /* nesting of multiparts / enclosed messages */
    unsigned parts_max;    /* MIME parts visited in total */
    unsigned attach_count; /* attachments kept; later ones are dropped (counted) */
    size_t attach_bytes;   /* larger attachments are dropped (counted) */
} hd_mime_limits;

/* One address: addr is lower-cased; name may be "". */
typedef struct hd_mime_addr {
    const char *addr;
    const char *name;
} hd_mime_addr;

/* One kept attachment; data is the decoded content. */
typedef struct hd_mime_attachment {
    const char *filename;     /* decoded (RFC 2047/2231) UTF-8; "" when none */
    const char *content_type; /* "type/subtype" */
    char sha256[65];          /* hex */
    const unsigned char *data;
    size_t size;
} hd_mime_attachment;

/* A parsed message. Every pointer is borrowed until the arena it was parsed into resets.
 * Strings are never NULL (absent = ""). Message-IDs are without angle brackets. */
typedef struct hd_mime_msg {
    const char *message_id;  /* the header's, or a synthetic one (synthetic_id set) */
    bool synthetic_id;       /* no usable Message-ID: hash of headers and body */
    const char *in_reply_to; /* first id of In-Reply-To, "" if none */
    const char **references; /* References ids, oldest first */
    size_t n_references;
    const char *subject; /* decoded UTF-8, single line */
    hd_mime_addr from;   /* addr "" when missing or unparseable */
    hd_mime_addr *to;
    size_t n_to;
    hd_mime_addr *cc;
    size_t n_cc;
    const char *return_path; /* as written, angle brackets removed; has_return_path */
    bool has_return_path;
    const char *auto_submitted; /* header values, "" when absent */
    const char *precedence;
    const char *x_auto_response_suppress;
    const char *x_loop;
    const char *list_id;
    const char *hd_loop;  /* our own loop header (X-Helpdesk-Loop) */
    const char *text;     /* whole body text, UTF-8 */
    const char *new_text; /* text without quoted history (== text if none found) */
    bool html_only;       /* text came from HTML */
    hd_mime_attachment *attachments;
    size_t n_attachments;
    unsigned dropped_attachments; /* over the count or size limit */
    bool truncated;               /* depth or part limit hit: some parts were skipped */
    /* Delivery status report (multipart/report; report-type=delivery-status). */
    bool is_dsn;
    const char *dsn_status;              /* first Status: of a recipient, e.g. "5.1.1" */
    const char *dsn_action;              /* "failed", "delayed", ... */
    const char *dsn_recipient;           /* Final-Recipient address, lower-case */
    const char *dsn_original_message_id; /* Message-ID of the enclosed original */
    const char *dsn_diagnostic;          /* Diagnostic-Code text, e.g. "550 5.1.1 user unknown" */
} hd_mime_msg;

/* Parses len bytes of RFC 5322 message (CRLF or LF line ends) into a's memory. lim may be
 * NULL (defaults). Returns 0 with *out borrowed until a resets, HD_EINVAL ("not a MIME
 * message") or HD_ENOMEM. Never fails on odd content: unknown charsets fall back to a
 * best-effort conversion, bad parts are skipped. Thread-safe (GMime is initialised once). */
int hd_mime_parse(hd_mime_msg **out, hd_arena *a, const void *data, size_t len,
                  const hd_mime_limits *lim, hd_err *err);

/* Returns the length of the part of text (n bytes) that precedes its quoted history (a
 * Gmail/Apple "On ... wrote:" line, an Outlook "-----Original Message-----" or
 * "From:/Sent:" block, or a trailing block of "> " lines), trailing blank lines removed;
 * n when none is found. */
size_t hd_mime_new_text_len(const char *text, size_t n);

/* Converts n bytes of HTML to plain text in a (block elements become line breaks, script
 * and style dropped, entities decoded). Returns the text (borrowed until a resets) or
 * NULL when out of memory. */
char *hd_mime_html_to_text(hd_arena *a, const char *html, size_t n);

#endif
