/* Composing outgoing mail with GMime 3: From/To/Cc, our Message-ID, In-Reply-To and
 * References of the thread, the ticket tag in the subject, RFC 2047 encoded headers, a text
 * body with an optional HTML alternative and attachments. Header values are checked for
 * CR/LF before they reach GMime. No store dependency (the reporter uses it too). */
#ifndef HD_MAIL_COMPOSE_H
#define HD_MAIL_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "server/common/err.h"

/* Our loop-marker header, set on every mail we send; seeing it inbound means a loop. */
#define HD_COMPOSE_LOOP_HEADER "X-Helpdesk-Loop"

typedef struct hd_compose_attachment {
    const char *filename;     /* one line of UTF-8; RFC 2231-encoded on the wire; NULL =
                                 "attachment" */
    const char *content_type; /* "type/subtype", optionally "; name=value" parameters, one
                                 line of printable ASCII; NULL or "" =
                                 application/octet-stream */
    const void *data;
    size_t size;
} hd_compose_attachment;

/* What to compose; every string is borrowed for the call. NULL strings = absent. */
typedef struct hd_compose_msg {
    const char *from_addr; /* required */
    const char *from_name;
    const char *const *to; /* at least one of to/cc */
    size_t n_to;
    const char *const *cc;
    size_t n_cc;
    const char *reply_to;   /* e.g. the plus-address reply token address */
    const char *subject;    /* UTF-8; ticket_tag is prepended unless already present */
    const char *ticket_tag; /* e.g. "TKT-000123" -> "[TKT-000123] subject" */
    const char *message_id; /* required, without angle brackets */
    const char *in_reply_to;
    const char *const *references; /* oldest first */
    size_t n_references;
    const char *auto_submitted; /* "auto-replied", "auto-generated" or NULL (human mail) */
    const char *loop_marker;    /* value of HD_COMPOSE_LOOP_HEADER; NULL = not set */
    const char *text;           /* required, UTF-8 */
    const char *html;           /* optional alternative */
    const hd_compose_attachment *attachments;
    size_t n_attachments;
    long long date_unix; /* Date header; 0 = now */
} hd_compose_msg;

/* Builds the message. Returns 0 with *out owned (free with free(); NUL-terminated, CRLF
 * line ends) and *len its length, or HD_EINVAL (a missing field, an address that fails
 * validation, a header value with CR/LF, an attachment file name that is not one line of
 * UTF-8 or a content type that is not "type/subtype[; params]"; the field is named in the
 * detail),
 * HD_ENOMEM. Attachments are base64-encoded. */
int hd_compose(char **out, size_t *len, const hd_compose_msg *m, hd_err *err);

/* Writes "[tag] subject" into a malloc'd string, keeping subject as is when it already
 * contains "[tag]". Never truncates the tag away. Returns the owned string (free()) or NULL
 * when out of memory. */
char *hd_compose_subject(const char *subject, const char *tag);

#endif
