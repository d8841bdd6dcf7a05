/* Inbound MIME parsing with GMime 3 (see mime.h). GMime objects live only inside
 * hd_mime_parse; everything returned is copied into the caller's arena. */
#include "server/mail/mime.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>
#include <sodium.h>

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

static void mime_init(void)
{
    g_mime_init();
    if (sodium_init() < 0)
        abort();
}

/* Walk state while visiting the MIME tree. */
typedef struct walk {
    hd_arena *a;
    hd_mime_limits lim;
    hd_mime_msg *m;
    unsigned parts;
    const char *plain; /* first text/plain body (UTF-8), NULL if none yet */
    const char *html;  /* first text/html body (UTF-8) */
    size_t cap_attach;
} walk;

static const char *dup_or_empty(hd_arena *a, const char *s)
{
    return hd_arena_strdup(a, s ? s : "");
}

static char *lower_dup(hd_arena *a, const char *s)
{
    char *d = hd_arena_strdup(a, s ? s : "");
    if (!d)
        return NULL;
    for (char *p = d; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Trims spaces and one pair of angle brackets. */
static char *strip_angle(hd_arena *a, const char *s)
{
    if (!s)
        return hd_arena_strdup(a, "");
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
        s++;
        n -= 2;
    }
    return hd_arena_strndup(a, s, n);
}

/* Header value (unfolded, raw), "" when absent. */
static const char *header(hd_arena *a, GMimeObject *o, const char *name)
{
    const char *v = g_mime_object_get_header(o, name);
    if (!v)
        return "";
    char *d = hd_arena_strdup(a, v);
    if (!d)
        return "";
    /* Unfold and trim so classifiers compare simple values. */
    for (char *p = d; *p; p++)
        if (*p == '\r' || *p == '\n' || *p == '\t')
            *p = ' ';
    while (*d == ' ')
        d++;
    size_t n = strlen(d);
    while (n > 0 && d[n - 1] == ' ')
        d[--n] = '\0';
    return d;
}

/* Converts n bytes in charset cs to valid UTF-8 in the arena. */
static char *to_utf8(hd_arena *a, const char *s, size_t n, const char *cs)
{
    char *conv = NULL;
    if (!s || n == 0)
        return hd_arena_strdup(a, "");
    if (cs && *cs && g_ascii_strcasecmp(cs, "utf-8") != 0 && g_ascii_strcasecmp(cs, "us-ascii")) {
        const char *name = g_mime_charset_iconv_name(cs);
        /* ISO-8859-1 labels are Windows-1252 in practice (WHATWG encoding standard). */
        if (g_ascii_strcasecmp(name, "iso-8859-1") == 0 || g_ascii_strcasecmp(name, "latin1") == 0)
            name = "windows-1252";
        gsize wr = 0;
        conv = g_convert(s, (gssize)n, "UTF-8", name, NULL, &wr, NULL);
        if (conv) {
            char *r = hd_arena_strndup(a, conv, wr);
            g_free(conv);
            return r;
        }
    }
    if (g_utf8_validate(s, (gssize)n, NULL))
        return hd_arena_strndup(a, s, n);
    /* Undeclared or wrong charset: let GMime guess from the user's locale charsets. */
    conv = g_mime_utils_decode_8bit(NULL, s, n);
    if (!conv)
        return hd_arena_strdup(a, "");
    char *valid = g_utf8_make_valid(conv, -1);
    g_free(conv);
    char *r = hd_arena_strdup(a, valid);
    g_free(valid);
    return r;
}

/* Decoded (transfer encoding removed) content of part into a GByteArray owned by caller. */
static GByteArray *part_bytes(GMimePart *part, size_t max, bool *too_big)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    *too_big = false;
    if (!w)
        return NULL;
    GByteArray *ba = g_byte_array_new();
    GMimeStream *ms = g_mime_stream_mem_new_with_byte_array(ba);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
    g_mime_data_wrapper_write_to_stream(w, ms);
    g_object_unref(ms);
    if (max && ba->len > max)
        *too_big = true;
    return ba;
}

static char *part_text(hd_arena *a, GMimePart *part)
{
    bool big;
    GByteArray *ba = part_bytes(part, 0, &big);
    if (!ba)
        return hd_arena_strdup(a, "");
    const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    char *t = to_utf8(a, (const char *)ba->data, ba->len, cs);
    g_byte_array_free(ba, TRUE);
    return t;
}

static int add_attachment(walk *w, GMimePart *part)
{
    hd_mime_msg *m = w->m;
    bool big = false;
    if (m->n_attachments >= w->lim.attach_count) {
        m->dropped_attachments++;
        return 0;
    }
    GByteArray *ba = part_bytes(part, w->lim.attach_bytes, &big);
    if (!ba)
        return 0;
    if (big) {
        m->dropped_attachments++;
        g_byte_array_free(ba, TRUE);
        return 0;
    }
    if (m->n_attachments == w->cap_attach) {
        size_t cap = w->cap_attach ? w->cap_attach * 2 : 4;
        hd_mime_attachment *na = hd_arena_calloc(w->a, cap, sizeof *na);
        if (!na) {
            g_byte_array_free(ba, TRUE);
            return HD_ENOMEM;
        }
        if (m->n_attachments)
            memcpy(na, m->attachments, m->n_attachments * sizeof *na);
        m->attachments = na;
        w->cap_attach = cap;
    }
    hd_mime_attachment *at = &m->attachments[m->n_attachments];
    unsigned char *data = hd_arena_alloc(w->a, ba->len ? ba->len : 1);
    if (!data) {
        g_byte_array_free(ba, TRUE);
        return HD_ENOMEM;
    }
    if (ba->len)
        memcpy(data, ba->data, ba->len); /* an empty attachment has no data pointer */
    at->data = data;
    at->size = ba->len;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, data, ba->len);
    sodium_bin2hex(at->sha256, sizeof at->sha256, h, sizeof h);
    g_byte_array_free(ba, TRUE);
    at->filename = dup_or_empty(w->a, g_mime_part_get_filename(part));
    GMimeContentType *ct = g_mime_object_get_content_type(GMIME_OBJECT(part));
    char *mt = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    at->content_type = lower_dup(w->a, mt ? mt : "application/octet-stream");
    g_free(mt);
    m->n_attachments++;
    return 0;
}

/* Reads "Name: value" fields of a delivery-status body. */
static void parse_dsn_fields(walk *w, const char *t)
{
    hd_mime_msg *m = w->m;
    const char *p = t;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        const char *v = memchr(p, ':', n);
        if (v) {
            size_t kn = (size_t)(v - p);
            v++;
            while (v < p + n && (*v == ' ' || *v == '\t'))
                v++;
            size_t vn = (size_t)(p + n - v);
            while (vn > 0 && (v[vn - 1] == '\r' || v[vn - 1] == ' '))
                vn--;
            if (kn == 6 && g_ascii_strncasecmp(p, "Status", 6) == 0 && !*m->dsn_status)
                m->dsn_status = hd_arena_strndup(w->a, v, vn);
            else if (kn == 6 && g_ascii_strncasecmp(p, "Action", 6) == 0 && !*m->dsn_action)
                m->dsn_action = lower_dup(w->a, hd_arena_strndup(w->a, v, vn));
            else if (kn == 15 && g_ascii_strncasecmp(p, "Diagnostic-Code", 15) == 0 &&
                     !*m->dsn_diagnostic) {
                /* "smtp; 550 5.1.1 user unknown": the text after the type, one line. */
                const char *semi = memchr(v, ';', vn);
                const char *d = semi ? semi + 1 : v;
                while (d < v + vn && *d == ' ')
                    d++;
                size_t dn = (size_t)(v + vn - d);
                m->dsn_diagnostic = hd_arena_strndup(w->a, d, dn > 200 ? 200 : dn);
            } else if (kn == 15 && g_ascii_strncasecmp(p, "Final-Recipient", 15) == 0 &&
                       !*m->dsn_recipient) {
                const char *semi = memchr(v, ';', vn);
                const char *addr = semi ? semi + 1 : v;
                while (addr < v + vn && *addr == ' ')
                    addr++;
                char *r = hd_arena_strndup(w->a, addr, (size_t)(v + vn - addr));
                m->dsn_recipient = lower_dup(w->a, strip_angle(w->a, r));
            }
        }
        if (!eol)
            break;
        p = eol + 1;
    }
}

/* text/rfc822-headers: find the Message-ID line. */
static void parse_original_headers(walk *w, const char *t)
{
    const char *p = t;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (n > 11 && g_ascii_strncasecmp(p, "Message-ID:", 11) == 0) {
            char *v = hd_arena_strndup(w->a, p + 11, n - 11);
            w->m->dsn_original_message_id = strip_angle(w->a, v);
            return;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
}

static int visit(walk *w, GMimeObject *o, unsigned depth, bool in_report);

static int visit_message(walk *w, GMimeMessage *msg, unsigned depth, bool in_report)
{
    if (in_report && !*w->m->dsn_original_message_id) {
        const char *id = g_mime_message_get_message_id(msg);
        if (id)
            w->m->dsn_original_message_id = strip_angle(w->a, id);
        return 0; /* the enclosed original of a bounce is not the customer's text */
    }
    GMimeObject *body = g_mime_message_get_mime_part(msg);
    return body ? visit(w, body, depth + 1, false) : 0;
}

static int visit(walk *w, GMimeObject *o, unsigned depth, bool in_report)
{
    if (depth > w->lim.depth_max || w->parts >= w->lim.parts_max) {
        w->m->truncated = true;
        return 0;
    }
    w->parts++;
    GMimeContentType *ct = g_mime_object_get_content_type(o);
    if (GMIME_IS_MULTIPART(o)) {
        GMimeMultipart *mp = GMIME_MULTIPART(o);
        bool report = ct && g_mime_content_type_is_type(ct, "multipart", "report");
        if (report) {
            const char *rt = g_mime_content_type_get_parameter(ct, "report-type");
            if (rt && g_ascii_strcasecmp(rt, "delivery-status") == 0)
                w->m->is_dsn = true;
            else
                report = false;
        }
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++) {
            int rc = visit(w, g_mime_multipart_get_part(mp, i), depth + 1, in_report || report);
            if (rc < 0)
                return rc;
        }
        return 0;
    }
    if (GMIME_IS_MESSAGE_PART(o)) {
        GMimeMessage *msg = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
        if (!msg)
            return 0;
        /* A forwarded message is content of this one: keep it as an attachment-like text. */
        return visit_message(w, msg, depth, in_report);
    }
    if (!GMIME_IS_PART(o))
        return 0;
    GMimePart *part = GMIME_PART(o);
    if (in_report && ct &&
        (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
         g_mime_content_type_is_type(ct, "message", "global-delivery-status"))) {
        parse_dsn_fields(w, part_text(w->a, part));
        return 0;
    }
    if (in_report && ct && g_mime_content_type_is_type(ct, "text", "rfc822-headers")) {
        parse_original_headers(w, part_text(w->a, part));
        return 0;
    }
    bool attachment = g_mime_part_is_attachment(part);
    if (!attachment && ct && g_mime_content_type_is_type(ct, "text", "plain")) {
        if (!w->plain)
            w->plain = part_text(w->a, part);
        return 0;
    }
    if (!attachment && ct && g_mime_content_type_is_type(ct, "text", "html")) {
        if (!w->html)
            w->html = part_text(w->a, part);
        return 0;
    }
    if (in_report)
        return 0;
    return add_attachment(w, part);
}

static int parse_addrs(hd_arena *a, InternetAddressList *l, hd_mime_addr **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!l)
        return 0;
    int len = internet_address_list_length(l);
    if (len <= 0)
        return 0;
    size_t cap = (size_t)len < HD_MIME_ADDRS_MAX ? (size_t)len : HD_MIME_ADDRS_MAX;
    hd_mime_addr *v = hd_arena_calloc(a, cap, sizeof *v);
    if (!v)
        return HD_ENOMEM;
    for (int i = 0; i < len && *n < cap; i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);
        if (!INTERNET_ADDRESS_IS_MAILBOX(ia))
            continue; /* groups: rare in support mail, skipped */
        const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
        v[*n].addr = lower_dup(a, addr);
        v[*n].name = dup_or_empty(a, internet_address_get_name(ia));
        (*n)++;
    }
    *out = v;
    return 0;
}

static int parse_refs(hd_arena *a, const char *raw, const char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!raw || !*raw)
        return 0;
    GMimeReferences *refs = g_mime_references_parse(NULL, raw);
    if (!refs)
        return 0;
    int len = g_mime_references_length(refs);
    size_t keep = len > HD_MIME_REFERENCES_MAX ? HD_MIME_REFERENCES_MAX : (size_t)len;
    const char **v = hd_arena_calloc(a, keep ? keep : 1, sizeof *v);
    if (!v) {
        g_mime_references_free(refs);
        return HD_ENOMEM;
    }
    /* Keep the newest ids when there are too many: they thread best. */
    for (size_t i = 0; i < keep; i++)
        v[i] = hd_arena_strdup(a, g_mime_references_get_message_id(refs, len - (int)keep + (int)i));
    g_mime_references_free(refs);
    *out = v;
    *n = keep;
    return 0;
}

/* Stable id for a message without one: SHA-256 over the raw bytes (headers and body). */
static const char *synthetic_id(hd_arena *a, const void *data, size_t len)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(h, data, len);
    sodium_bin2hex(hex, sizeof hex, h, 16);
    return hd_arena_printf(a, "%s@%s", hex, HD_MIME_SYNTH_DOMAIN);
}

int hd_mime_parse(hd_mime_msg **out, hd_arena *a, const void *data, size_t len,
                  const hd_mime_limits *lim, hd_err *err)
{
    int rc = HD_OK;
    GMimeStream *s = NULL;
    GMimeParser *p = NULL;
    GMimeMessage *msg = NULL;
    pthread_once(&mime_once, mime_init);
    *out = NULL;
    hd_mime_msg *m = hd_arena_calloc(a, 1, sizeof *m);
    if (!m) {
        rc = hd_err_set(err, HD_ENOMEM, "mime: out of memory");
        goto fail;
    }
    walk w = {.a = a, .m = m};
    if (lim)
        w.lim = *lim;
    if (!w.lim.depth_max)
        w.lim.depth_max = HD_MIME_DEPTH_MAX_DEFAULT;
    if (!w.lim.parts_max)
        w.lim.parts_max = HD_MIME_PARTS_MAX_DEFAULT;
    if (!w.lim.attach_count)
        w.lim.attach_count = HD_MIME_ATTACH_COUNT_DEFAULT;
    if (!w.lim.attach_bytes)
        w.lim.attach_bytes = HD_MIME_ATTACH_BYTES_DEFAULT;

    s = g_mime_stream_mem_new_with_buffer(data, len);
    p = g_mime_parser_new_with_stream(s);
    g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
    msg = g_mime_parser_construct_message(p, NULL);
    if (!msg) {
        rc = hd_err_set(err, HD_EINVAL, "mime: not a MIME message");
        goto fail;
    }
    GMimeObject *mo = GMIME_OBJECT(msg);
    const char *mid = g_mime_message_get_message_id(msg);
    char *id = strip_angle(a, mid);
    if (!id || !*id || strlen(id) > 250 || strchr(id, ' ')) {
        m->message_id = synthetic_id(a, data, len);
        m->synthetic_id = true;
    } else {
        m->message_id = id;
    }
    const char **irt = NULL;
    size_t n_irt = 0;
    if (parse_refs(a, g_mime_object_get_header(mo, "In-Reply-To"), &irt, &n_irt) < 0 ||
        parse_refs(a, g_mime_object_get_header(mo, "References"), &m->references,
                   &m->n_references) < 0) {
        rc = hd_err_set(err, HD_ENOMEM, "mime: out of memory");
        goto fail;
    }
    m->in_reply_to = n_irt ? irt[n_irt - 1] : "";
    const char *subj = g_mime_message_get_subject(msg);
    char *sj = hd_arena_strdup(a, subj ? subj : "");
    if (sj) {
        for (char *q = sj; *q; q++)
            if (*q == '\r' || *q == '\n' || *q == '\t')
                *q = ' ';
        if (!g_utf8_validate(sj, -1, NULL))
            sj = to_utf8(a, sj, strlen(sj), NULL);
    }
    m->subject = sj ? sj : "";
    hd_mime_addr *from = NULL;
    size_t n_from = 0;
    if (parse_addrs(a, g_mime_message_get_from(msg), &from, &n_from) < 0 ||
        parse_addrs(a, g_mime_message_get_to(msg), &m->to, &m->n_to) < 0 ||
        parse_addrs(a, g_mime_message_get_cc(msg), &m->cc, &m->n_cc) < 0) {
        rc = hd_err_set(err, HD_ENOMEM, "mime: out of memory");
        goto fail;
    }
    m->from = n_from ? from[0] : (hd_mime_addr){"", ""};
    const char *rp = g_mime_object_get_header(mo, "Return-Path");
    m->has_return_path = rp != NULL;
    m->return_path = lower_dup(a, strip_angle(a, rp));
    m->auto_submitted = header(a, mo, "Auto-Submitted");
    m->precedence = header(a, mo, "Precedence");
    m->x_auto_response_suppress = header(a, mo, "X-Auto-Response-Suppress");
    m->x_loop = header(a, mo, "X-Loop");
    m->list_id = header(a, mo, "List-Id");
    m->hd_loop = header(a, mo, "X-Helpdesk-Loop");
    m->dsn_status = m->dsn_action = m->dsn_recipient = m->dsn_original_message_id = "";
    m->dsn_diagnostic = "";

    GMimeObject *body = g_mime_message_get_mime_part(msg);
    if (body) {
        rc = visit(&w, body, 0, false);
        if (rc < 0) {
            hd_err_set(err, rc, "mime: out of memory");
            goto fail;
        }
    }
    if (w.plain && *w.plain) {
        m->text = w.plain;
    } else if (w.html) {
        m->text = hd_mime_html_to_text(a, w.html, strlen(w.html));
        m->html_only = true;
    } else {
        m->text = w.plain ? w.plain : "";
    }
    if (!m->text) {
        rc = hd_err_set(err, HD_ENOMEM, "mime: out of memory");
        goto fail;
    }
    size_t nl = hd_mime_new_text_len(m->text, strlen(m->text));
    m->new_text = hd_arena_strndup(a, m->text, nl);
    if (!m->new_text) {
        rc = hd_err_set(err, HD_ENOMEM, "mime: out of memory");
        goto fail;
    }
    *out = m;
    rc = HD_OK;
fail:
    if (msg)
        g_object_unref(msg);
    if (p)
        g_object_unref(p);
    if (s)
        g_object_unref(s);
    return rc;
}

/* ---- Quoted history ----------------------------------------------------------------- */

static bool line_starts(const char *l, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && g_ascii_strncasecmp(l, prefix, k) == 0;
}

static bool ends_with_wrote(const char *l, size_t n)
{
    while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\r'))
        n--;
    return (n >= 6 && memcmp(l + n - 6, "wrote:", 6) == 0) ||
           (n >= 8 && memcmp(l + n - 8, "schrieb:", 8) == 0) ||
           (n >= 7 && memcmp(l + n - 7, "a écrit:", 7) == 0);
}

size_t hd_mime_new_text_len(const char *text, size_t n)
{
    size_t cut = n;
    size_t pos = 0;
    size_t quote_start = n; /* start of the current run of "> " lines */
    bool in_quote = false;
    while (pos < n) {
        const char *l = text + pos;
        const char *eol = memchr(l, '\n', n - pos);
        size_t ln = eol ? (size_t)(eol - l) : n - pos;
        size_t next = eol ? pos + ln + 1 : n;
        const char *t = l;
        size_t tn = ln;
        while (tn > 0 && (*t == ' ' || *t == '\t')) {
            t++;
            tn--;
        }
        if (line_starts(t, tn, "On ") && ends_with_wrote(t, tn)) {
            cut = pos;
            break;
        }
        /* "On Tue, 3 Mar 2026 at 10:00, Ann <a@x.com>\nwrote:" (wrapped by the client). */
        if (line_starts(t, tn, "On ") && next < n) {
            const char *l2 = text + next;
            const char *e2 = memchr(l2, '\n', n - next);
            size_t n2 = e2 ? (size_t)(e2 - l2) : n - next;
            if (ends_with_wrote(l2, n2) && n2 < 80) {
                cut = pos;
                break;
            }
        }
        if (line_starts(t, tn, "-----Original Message-----") ||
            line_starts(t, tn, "----- Original Message -----") ||
            line_starts(t, tn, "-------- Original Message --------") ||
            line_starts(t, tn, "---------- Forwarded message") ||
            line_starts(t, tn, "Begin forwarded message:")) {
            cut = pos;
            break;
        }
        /* Outlook: a line of underscores, then "From:" and "Sent:" lines. */
        if (line_starts(t, tn, "________________________________") ||
            (line_starts(t, tn, "From:") && next < n &&
             (line_starts(text + next, n - next, "Sent:") ||
              line_starts(text + next, n - next, "Date:")))) {
            cut = pos;
            break;
        }
        if (tn > 0 && *t == '>') {
            if (!in_quote)
                quote_start = pos;
            in_quote = true;
        } else if (tn > 0 && !(tn == 1 && *t == '\r')) {
            in_quote = false;
            quote_start = n;
        }
        pos = next;
    }
    if (cut == n && in_quote)
        cut = quote_start;
    while (cut > 0 && (text[cut - 1] == '\n' || text[cut - 1] == '\r' || text[cut - 1] == ' '))
        cut--;
    /* A message that is only a quote (nothing new) keeps the whole text. */
    return cut == 0 ? n : cut;
}

/* ---- HTML to text ------------------------------------------------------------------- */

typedef struct sbuf {
    hd_arena *a;
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = hd_arena_alloc(b->a, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        if (b->n)
            memcpy(np, b->p, b->n);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_newline(sbuf *b)
{
    /* At most one blank line in a row. */
    if (b->n >= 2 && b->p[b->n - 1] == '\n' && b->p[b->n - 2] == '\n')
        return;
    if (b->n == 0)
        return;
    sb_put(b, "\n", 1);
}

static bool tag_is(const char *t, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n >= k && g_ascii_strncasecmp(t, name, k) == 0 &&
           (n == k || t[k] == ' ' || t[k] == '>' || t[k] == '/' || t[k] == '\t' || t[k] == '\n');
}

static void put_entity(sbuf *b, const char *e, size_t n)
{
    static const struct {
        const char *name;
        const char *utf8;
    } ents[] = {{"amp", "&"},
                {"lt", "<"},
                {"gt", ">"},
                {"quot", "\""},
                {"apos", "'"},
                {"nbsp", " "},
                {"mdash", "\xe2\x80\x94"},
                {"ndash", "\xe2\x80\x93"},
                {"hellip", "\xe2\x80\xa6"},
                {"rsquo", "\xe2\x80\x99"},
                {"lsquo", "\xe2\x80\x98"},
                {"euro", "\xe2\x82\xac"}};
    if (n > 1 && e[0] == '#') {
        unsigned long cp = 0;
        char tmp[16];
        size_t k = n - 1 < sizeof tmp - 1 ? n - 1 : sizeof tmp - 1;
        memcpy(tmp, e + 1, k);
        tmp[k] = '\0';
        if (tmp[0] == 'x' || tmp[0] == 'X')
            cp = strtoul(tmp + 1, NULL, 16);
        else
            cp = strtoul(tmp, NULL, 10);
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = 0xFFFD;
        char u[8];
        int len = g_unichar_to_utf8((gunichar)cp, u);
        sb_put(b, u, (size_t)len);
        return;
    }
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
        if (strlen(ents[i].name) == n && memcmp(ents[i].name, e, n) == 0) {
            sb_put(b, ents[i].utf8, strlen(ents[i].utf8));
            return;
        }
    sb_put(b, "&", 1);
    sb_put(b, e, n);
    sb_put(b, ";", 1);
}

char *hd_mime_html_to_text(hd_arena *a, const char *html, size_t n)
{
    sbuf b = {.a = a};
    size_t i = 0;
    bool space = false;
    sb_put(&b, "", 0);
    while (i < n) {
        char c = html[i];
        if (c == '<') {
            const char *end = memchr(html + i, '>', n - i);
            if (!end)
                break;
            const char *t = html + i + 1;
            size_t tn = (size_t)(end - t);
            bool closing = tn > 0 && *t == '/';
            const char *name = closing ? t + 1 : t;
            size_t nn = closing ? tn - 1 : tn;
            if (!closing && (tag_is(name, nn, "script") || tag_is(name, nn, "style") ||
                             tag_is(name, nn, "head"))) {
                /* Skip to the matching close tag. */
                const char *close = tag_is(name, nn, "script")  ? "</script"
                                    : tag_is(name, nn, "style") ? "</style"
                                                                : "</head";
                const char *q = end;
                const char *found = NULL;
                size_t cl = strlen(close);
                for (; q + cl <= html + n; q++)
                    if (g_ascii_strncasecmp(q, close, cl) == 0) {
                        found = q;
                        break;
                    }
                if (!found)
                    break;
                end = memchr(found, '>', (size_t)(html + n - found));
                if (!end)
                    break;
            } else if (tag_is(name, nn, "br") || tag_is(name, nn, "p") || tag_is(name, nn, "div") ||
                       tag_is(name, nn, "tr") || tag_is(name, nn, "li") || tag_is(name, nn, "h1") ||
                       tag_is(name, nn, "h2") || tag_is(name, nn, "h3") ||
                       tag_is(name, nn, "blockquote") || tag_is(name, nn, "table")) {
                sb_newline(&b);
                if (!closing && tag_is(name, nn, "li"))
                    sb_put(&b, "- ", 2);
                space = false;
            }
            i = (size_t)(end - html) + 1;
            continue;
        }
        if (c == '&') {
            const char *semi = memchr(html + i, ';', n - i < 12 ? n - i : 12);
            if (semi) {
                if (space && b.n > 0 && b.p[b.n - 1] != '\n')
                    sb_put(&b, " ", 1);
                put_entity(&b, html + i + 1, (size_t)(semi - html - i - 1));
                i = (size_t)(semi - html) + 1;
                space = false;
                continue;
            }
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            space = true;
            i++;
            continue;
        }
        if (space && b.n > 0 && b.p[b.n - 1] != '\n')
            sb_put(&b, " ", 1);
        space = false;
        sb_put(&b, &html[i], 1);
        i++;
    }
    if (b.oom)
        return NULL;
    while (b.n > 0 && (b.p[b.n - 1] == '\n' || b.p[b.n - 1] == ' '))
        b.p[--b.n] = '\0';
    return b.p ? b.p : hd_arena_strdup(a, "");
}
