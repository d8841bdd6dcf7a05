/* Outgoing mail composition with GMime 3 (see compose.h). */
#include "server/mail/compose.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "server/validate/validate.h"

static pthread_once_t compose_once = PTHREAD_ONCE_INIT;

static void compose_init(void)
{
    g_mime_init();
}

static bool line_ok(const char *s)
{
    return !s || hd_validate_single_line(s, strlen(s));
}

static bool addr_ok(const char *s)
{
    return s && hd_validate_email(s, strlen(s));
}

/* A Message-ID without brackets: printable ASCII, no space or angle bracket, one '@'. */
static bool msgid_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 250 || !hd_validate_printable_ascii(s, n))
        return false;
    return !strpbrk(s, " <>") && strchr(s, '@');
}

/* NULL, empty, or one line of printable ASCII: "type/subtype" of RFC 2045 token characters,
 * optionally followed by ";" parameters (GMime parses and re-encodes those). */
static bool content_type_ok(const char *s)
{
    static const char tok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                              "!#$%&'*+-.^_`|~";
    if (!s || !*s)
        return true;
    size_t n = strlen(s);
    if (n > 255 || !hd_validate_printable_ascii(s, n))
        return false;
    size_t end = strcspn(s, ";");
    while (end > 0 && s[end - 1] == ' ')
        end--;
    const char *slash = memchr(s, '/', end);
    if (!slash || slash == s || (size_t)(slash - s) + 1 == end)
        return false;
    size_t a = (size_t)(slash - s);
    return strspn(s, tok) == a && strspn(slash + 1, tok) == end - a - 1;
}

char *hd_compose_subject(const char *subject, const char *tag)
{
    const char *s = subject ? subject : "";
    if (!tag || !*tag)
        return strdup(s);
    size_t tn = strlen(tag);
    char *bracket = malloc(tn + 3);
    if (!bracket)
        return NULL;
    snprintf(bracket, tn + 3, "[%s]", tag);
    char *r = NULL;
    if (strstr(s, bracket)) {
        r = strdup(s);
    } else {
        size_t n = tn + 3 + strlen(s) + 1;
        r = malloc(n);
        if (r)
            snprintf(r, n, "%s %s", bracket, s);
    }
    free(bracket);
    return r;
}

static GMimeObject *text_part(const char *subtype, const char *text)
{
    GMimeTextPart *tp = g_mime_text_part_new_with_subtype(subtype);
    g_mime_text_part_set_text(tp, text);
    GMimePart *p = GMIME_PART(tp);
    g_mime_part_set_content_encoding(
        p, g_mime_part_get_best_content_encoding(p, GMIME_ENCODING_CONSTRAINT_7BIT));
    return GMIME_OBJECT(tp);
}

static GMimeObject *attachment_part(const hd_compose_attachment *at)
{
    const char *ct =
        at->content_type && *at->content_type ? at->content_type : "application/octet-stream";
    GMimeContentType *t = g_mime_content_type_parse(NULL, ct);
    GMimePart *p = g_mime_part_new_with_type(g_mime_content_type_get_media_type(t),
                                             g_mime_content_type_get_media_subtype(t));
    /* Keep the caller's parameters (e.g. charset=utf-8 of a CSV). */
    GMimeParamList *pl = g_mime_content_type_get_parameters(t);
    GMimeContentType *pt = g_mime_object_get_content_type(GMIME_OBJECT(p));
    for (int i = 0; pl && i < g_mime_param_list_length(pl); i++) {
        GMimeParam *pa = g_mime_param_list_get_parameter_at(pl, i);
        g_mime_content_type_set_parameter(pt, g_mime_param_get_name(pa),
                                          g_mime_param_get_value(pa));
    }
    g_object_unref(t);
    GMimeStream *st = g_mime_stream_mem_new_with_buffer(at->data, at->size);
    GMimeDataWrapper *dw = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(p, dw);
    g_object_unref(dw);
    g_object_unref(st);
    g_mime_part_set_filename(p, at->filename && *at->filename ? at->filename : "attachment");
    /* GMime encodes a non-ASCII name in the smallest charset that holds it (ISO-8859-15 for
     * "März €"); UTF-8 is what every client decodes. */
    GMimeParam *pn = g_mime_param_list_get_parameter(
        g_mime_content_type_get_parameters(g_mime_object_get_content_type(GMIME_OBJECT(p))),
        "name");
    GMimeParam *pf =
        g_mime_param_list_get_parameter(g_mime_content_disposition_get_parameters(
                                            g_mime_object_get_content_disposition(GMIME_OBJECT(p))),
                                        "filename");
    if (pn)
        g_mime_param_set_charset(pn, "utf-8");
    if (pf)
        g_mime_param_set_charset(pf, "utf-8");
    g_mime_part_set_content_encoding(p, GMIME_CONTENT_ENCODING_BASE64);
    return GMIME_OBJECT(p);
}

static int check(const hd_compose_msg *m, hd_err *err)
{
    if (!addr_ok(m->from_addr))
        return hd_err_set(err, HD_EINVAL, "from: not a valid address");
    if (m->n_to + m->n_cc == 0)
        return hd_err_set(err, HD_EINVAL, "to: no recipients");
    for (size_t i = 0; i < m->n_to; i++)
        if (!addr_ok(m->to[i]))
            return hd_err_set(err, HD_EINVAL, "to[%zu]: not a valid address", i);
    for (size_t i = 0; i < m->n_cc; i++)
        if (!addr_ok(m->cc[i]))
            return hd_err_set(err, HD_EINVAL, "cc[%zu]: not a valid address", i);
    if (m->reply_to && *m->reply_to && !addr_ok(m->reply_to))
        return hd_err_set(err, HD_EINVAL, "reply_to: not a valid address");
    if (!line_ok(m->from_name) || !line_ok(m->subject) || !line_ok(m->ticket_tag) ||
        !line_ok(m->auto_submitted) || !line_ok(m->loop_marker))
        return hd_err_set(err, HD_EINVAL, "header value: contains CR or LF");
    if (!msgid_ok(m->message_id))
        return hd_err_set(err, HD_EINVAL, "message_id: not a valid Message-ID");
    if (m->in_reply_to && *m->in_reply_to && !msgid_ok(m->in_reply_to))
        return hd_err_set(err, HD_EINVAL, "in_reply_to: not a valid Message-ID");
    for (size_t i = 0; i < m->n_references; i++)
        if (!msgid_ok(m->references[i]))
            return hd_err_set(err, HD_EINVAL, "references[%zu]: not a valid Message-ID", i);
    if (!m->text)
        return hd_err_set(err, HD_EINVAL, "text: missing");
    for (size_t i = 0; i < m->n_attachments; i++) {
        const hd_compose_attachment *at = &m->attachments[i];
        const char *f = at->filename;
        if (f && (!hd_validate_utf8(f, strlen(f)) || !line_ok(f)))
            return hd_err_set(err, HD_EINVAL, "attachments[%zu].filename: not one line of UTF-8",
                              i);
        if (!content_type_ok(at->content_type))
            return hd_err_set(err, HD_EINVAL, "attachments[%zu].content_type: not \"type/subtype\"",
                              i);
        if (at->size && !at->data)
            return hd_err_set(err, HD_EINVAL, "attachments[%zu]: no data", i);
    }
    return HD_OK;
}

int hd_compose(char **out, size_t *len, const hd_compose_msg *m, hd_err *err)
{
    int rc = HD_OK;
    GMimeMessage *msg = NULL;
    GMimeFormatOptions *fo = NULL;
    char *subject = NULL;
    GString *refs = NULL;
    *out = NULL;
    *len = 0;
    pthread_once(&compose_once, compose_init);
    rc = check(m, err);
    if (rc < 0)
        goto fail;
    msg = g_mime_message_new(TRUE);
    GMimeObject *mo = GMIME_OBJECT(msg);
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, m->from_name ? m->from_name : "",
                               m->from_addr);
    for (size_t i = 0; i < m->n_to; i++)
        g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, "", m->to[i]);
    for (size_t i = 0; i < m->n_cc; i++)
        g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_CC, "", m->cc[i]);
    if (m->reply_to && *m->reply_to)
        g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_REPLY_TO,
                                   m->from_name ? m->from_name : "", m->reply_to);
    subject = hd_compose_subject(m->subject, m->ticket_tag);
    if (!subject) {
        rc = hd_err_set(err, HD_ENOMEM, "compose: out of memory");
        goto fail;
    }
    g_mime_message_set_subject(msg, subject, "utf-8");
    g_mime_message_set_message_id(msg, m->message_id);
    GDateTime *dt =
        m->date_unix ? g_date_time_new_from_unix_utc(m->date_unix) : g_date_time_new_now_utc();
    g_mime_message_set_date(msg, dt);
    g_date_time_unref(dt);
    if (m->in_reply_to && *m->in_reply_to) {
        char b[260];
        snprintf(b, sizeof b, "<%s>", m->in_reply_to);
        g_mime_object_set_header(mo, "In-Reply-To", b, NULL);
    }
    if (m->n_references) {
        refs = g_string_new(NULL);
        for (size_t i = 0; i < m->n_references; i++)
            g_string_append_printf(refs, "%s<%s>", i ? " " : "", m->references[i]);
        g_mime_object_set_header(mo, "References", refs->str, NULL);
    }
    if (m->auto_submitted && *m->auto_submitted)
        g_mime_object_set_header(mo, "Auto-Submitted", m->auto_submitted, NULL);
    if (m->auto_submitted && *m->auto_submitted) {
        /* Ask Exchange not to answer our automatic mail with its own auto-replies. */
        g_mime_object_set_header(mo, "X-Auto-Response-Suppress", "All", NULL);
    }
    if (m->loop_marker && *m->loop_marker)
        g_mime_object_set_header(mo, HD_COMPOSE_LOOP_HEADER, m->loop_marker, NULL);

    GMimeObject *body = text_part("plain", m->text);
    if (m->html && *m->html) {
        GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
        g_mime_multipart_add(alt, body);
        g_object_unref(body);
        GMimeObject *h = text_part("html", m->html);
        g_mime_multipart_add(alt, h);
        g_object_unref(h);
        body = GMIME_OBJECT(alt);
    }
    if (m->n_attachments) {
        GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
        g_mime_multipart_add(mixed, body);
        g_object_unref(body);
        for (size_t i = 0; i < m->n_attachments; i++) {
            GMimeObject *ap = attachment_part(&m->attachments[i]);
            g_mime_multipart_add(mixed, ap);
            g_object_unref(ap);
        }
        body = GMIME_OBJECT(mixed);
    }
    g_mime_message_set_mime_part(msg, body);
    g_object_unref(body);
    fo = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
    /* Non-ASCII file names as RFC 2231 (filename*=utf-8''...), never RFC 2047 words. */
    g_mime_format_options_set_param_encoding_method(fo, GMIME_PARAM_ENCODING_METHOD_RFC2231);
    char *s = g_mime_object_to_string(mo, fo);
    if (!s) {
        rc = hd_err_set(err, HD_ENOMEM, "compose: out of memory");
        goto fail;
    }
    *len = strlen(s);
    *out = malloc(*len + 1);
    if (!*out) {
        g_free(s);
        rc = hd_err_set(err, HD_ENOMEM, "compose: out of memory");
        goto fail;
    }
    memcpy(*out, s, *len + 1);
    g_free(s);
    rc = HD_OK;
fail:
    if (refs)
        g_string_free(refs, TRUE);
    if (fo)
        g_mime_format_options_free(fo);
    if (msg)
        g_object_unref(msg);
    free(subject);
    return rc;
}
