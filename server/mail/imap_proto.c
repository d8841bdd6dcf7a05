/* Incremental IMAP response parser (see imap_proto.h). Framing first: a response is a line,
 * and each line that ends in a literal announcement continues after the literal's bytes; the
 * framing state survives between feeds so every byte is scanned once. Then the complete
 * response is parsed with a cursor that bounds every read by the response's end. */
#include "server/mail/imap_proto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMAP_PROTO_MAX_DEFAULT ((size_t)64 << 20)

struct hd_imap_proto {
    char *buf;
    size_t len, cap;
    size_t start;    /* first byte of the response in progress */
    size_t scan;     /* framing has looked at [start, scan) */
    size_t line;     /* where the current line (or its part after a literal) began */
    uint64_t lit;    /* literal bytes still to skip */
    size_t max_resp; /* refuse a response longer than this */
    int broken;      /* sticky error code once a protocol error was seen */
};

hd_imap_proto *hd_imap_proto_new(size_t max_resp)
{
    hd_imap_proto *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->max_resp = max_resp ? max_resp : IMAP_PROTO_MAX_DEFAULT;
    return p;
}

void hd_imap_proto_free(hd_imap_proto *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p);
}

size_t hd_imap_proto_pending(const hd_imap_proto *p)
{
    return p->len - p->start;
}

int hd_imap_proto_feed(hd_imap_proto *p, const void *data, size_t n, hd_err *err)
{
    if (p->start) {
        memmove(p->buf, p->buf + p->start, p->len - p->start);
        p->len -= p->start;
        p->scan -= p->start;
        p->line -= p->start;
        p->start = 0;
    }
    if (n > SIZE_MAX - p->len)
        return hd_err_set(err, HD_ENOMEM, "imap: input too long");
    if (p->len + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + n)
            cap = cap > SIZE_MAX / 2 ? p->len + n : cap * 2;
        char *nb = realloc(p->buf, cap);
        if (!nb)
            return hd_err_set(err, HD_ENOMEM, "imap: out of memory buffering %zu bytes", cap);
        p->buf = nb;
        p->cap = cap;
    }
    if (n)
        memcpy(p->buf + p->len, data, n);
    p->len += n;
    return 0;
}

/* If the line [s, nl) (nl at the '\n') ends in "{digits}" or "{digits+}" (before an optional
 * '\r'), sets *n to the literal's length and returns 1; 0 when it does not; -1 when the
 * length does not fit. */
static int literal_at_end(const char *s, size_t linelen, uint64_t *n)
{
    size_t e = linelen;
    if (e && s[e - 1] == '\r')
        e--;
    if (!e || s[e - 1] != '}')
        return 0;
    e--;
    if (e && s[e - 1] == '+')
        e--;
    size_t d = e;
    while (d && s[d - 1] >= '0' && s[d - 1] <= '9')
        d--;
    if (d == e || !d || s[d - 1] != '{')
        return 0;
    uint64_t v = 0;
    for (size_t i = d; i < e; i++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *n = v;
    return 1;
}

/* Parse cursor over one complete response [c, end). */
typedef struct cur {
    const char *c, *end;
} cur;

static bool at(const cur *k, char ch)
{
    return k->c < k->end && *k->c == ch;
}

static bool eat(cur *k, char ch)
{
    if (!at(k, ch))
        return false;
    k->c++;
    return true;
}

/* Atom characters (RFC 3501 ATOM-CHAR plus ']' for names such as BODY[]: brackets are
 * handled by the item-name reader). */
static bool atom_char(char ch)
{
    unsigned char u = (unsigned char)ch;
    return u > 0x20 && u < 0x7f && !strchr("(){%*\"\\]", ch);
}

static size_t atom(cur *k, const char **s)
{
    *s = k->c;
    while (k->c < k->end && (atom_char(*k->c) || *k->c == '\\' || *k->c == '*' || *k->c == '%'))
        k->c++;
    return (size_t)(k->c - *s);
}

static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static bool number64(cur *k, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = k->c;
    while (k->c < k->end && *k->c >= '0' && *k->c <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*k->c - '0');
        k->c++;
    }
    *out = v;
    return k->c > s;
}

static bool number32(cur *k, uint32_t *out)
{
    uint64_t v;
    if (!number64(k, &v) || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* A literal "{n}" or "{n+}" CRLF then n bytes: sets *s, *n. */
static bool literal(cur *k, const char **s, size_t *n)
{
    uint64_t v;
    if (!eat(k, '{') || !number64(k, &v))
        return false;
    eat(k, '+');
    if (!eat(k, '}'))
        return false;
    eat(k, '\r');
    if (!eat(k, '\n') || v > (uint64_t)(k->end - k->c))
        return false;
    *s = k->c;
    *n = (size_t)v;
    k->c += v;
    return true;
}

/* A quoted string: sets *s, *n to the raw inside (escapes kept). */
static bool quoted(cur *k, const char **s, size_t *n)
{
    if (!eat(k, '"'))
        return false;
    *s = k->c;
    while (k->c < k->end && *k->c != '"') {
        if (*k->c == '\r' || *k->c == '\n')
            return false;
        if (*k->c == '\\' && k->c + 1 < k->end)
            k->c++;
        k->c++;
    }
    *n = (size_t)(k->c - *s);
    return eat(k, '"');
}

/* Skips one value of any shape (atom, number, NIL, quoted, literal, nested list); depth bounds
 * the nesting. Returns false on malformed input. */
static bool skip_value(cur *k, int depth)
{
    const char *s;
    size_t n;
    if (at(k, '"'))
        return quoted(k, &s, &n);
    if (at(k, '{'))
        return literal(k, &s, &n);
    if (eat(k, '(')) {
        if (depth > 32)
            return false;
        while (!at(k, ')')) {
            if (k->c >= k->end || !skip_value(k, depth + 1))
                return false;
            eat(k, ' ');
        }
        return eat(k, ')');
    }
    /* atom, possibly with a bracketed section such as BODY[HEADER.FIELDS (A)] */
    const char *st = k->c;
    while (k->c < k->end &&
           (atom_char(*k->c) || *k->c == '\\' || *k->c == '*' || *k->c == '%' || *k->c == '[')) {
        if (*k->c == '[') {
            while (k->c < k->end && *k->c != ']')
                k->c++;
            if (!eat(k, ']'))
                return false;
            continue;
        }
        k->c++;
    }
    return k->c > st;
}

/* Reads a FETCH item name ("UID", "BODY[]", "BODY[HEADER.FIELDS (X)]<0>"). */
static bool item_name(cur *k, const char **s, size_t *n)
{
    *s = k->c;
    while (k->c < k->end && *k->c != ' ' && *k->c != ')' && *k->c != '(') {
        if (*k->c == '[') {
            while (k->c < k->end && *k->c != ']')
                k->c++;
            if (!eat(k, ']'))
                return false;
            continue;
        }
        k->c++;
    }
    *n = (size_t)(k->c - *s);
    return *n > 0;
}

static bool flags_list(cur *k, bool *seen)
{
    if (!eat(k, '('))
        return false;
    *seen = false;
    while (!at(k, ')')) {
        const char *s;
        size_t n;
        if (k->c >= k->end)
            return false;
        if (eat(k, '\\')) {
            n = atom(k, &s);
            if (word_is(s, n, "Seen"))
                *seen = true;
            if (!n && !eat(k, '*'))
                return false;
        } else if (!atom(k, &s)) {
            return false;
        }
        eat(k, ' ');
    }
    return eat(k, ')');
}

static bool fetch_items(cur *k, hd_imap_resp *r)
{
    if (!eat(k, '('))
        return false;
    while (!eat(k, ')')) {
        const char *name;
        size_t nlen;
        if (k->c >= k->end || !item_name(k, &name, &nlen) || !eat(k, ' '))
            return false;
        if (word_is(name, nlen, "UID")) {
            if (!number32(k, &r->uid))
                return false;
            r->has_uid = true;
        } else if (word_is(name, nlen, "RFC822.SIZE")) {
            if (!number64(k, &r->size))
                return false;
            r->has_size = true;
        } else if (word_is(name, nlen, "FLAGS")) {
            if (!flags_list(k, &r->seen))
                return false;
            r->has_flags = true;
        } else if (word_is(name, nlen, "BODY[]") || word_is(name, nlen, "RFC822")) {
            const char *s;
            size_t n;
            if (at(k, '{')) {
                if (!literal(k, &s, &n))
                    return false;
            } else if (at(k, '"')) {
                if (!quoted(k, &s, &n))
                    return false;
            } else {
                if (!word_is(k->c, (size_t)(k->end - k->c) < 3 ? (size_t)(k->end - k->c) : 3,
                             "NIL"))
                    return false;
                k->c += 3;
                s = NULL;
                n = 0;
            }
            r->body = s;
            r->body_len = n;
            r->has_body = true;
        } else if (!skip_value(k, 0)) {
            return false;
        }
        eat(k, ' ');
    }
    return true;
}

static hd_imap_status status_of(const char *s, size_t n)
{
    if (word_is(s, n, "OK"))
        return HD_IMAP_OK;
    if (word_is(s, n, "NO"))
        return HD_IMAP_NO;
    if (word_is(s, n, "BAD"))
        return HD_IMAP_BAD;
    if (word_is(s, n, "PREAUTH"))
        return HD_IMAP_PREAUTH;
    if (word_is(s, n, "BYE"))
        return HD_IMAP_BYE;
    return HD_IMAP_NONE;
}

/* Optional "[CODE args]" after a status; UIDVALIDITY and UIDNEXT are kept. */
static bool resp_code(cur *k, hd_imap_resp *r)
{
    const char *s;
    size_t n;
    if (!eat(k, '['))
        return true;
    n = atom(k, &s);
    if (word_is(s, n, "UIDVALIDITY") && eat(k, ' ')) {
        if (!number32(k, &r->uidvalidity))
            return false;
        r->has_uidvalidity = true;
    } else if (word_is(s, n, "UIDNEXT") && eat(k, ' ')) {
        if (!number32(k, &r->uidnext))
            return false;
        r->has_uidnext = true;
    }
    while (k->c < k->end && *k->c != ']')
        k->c++;
    if (!eat(k, ']'))
        return false;
    eat(k, ' ');
    return true;
}

static void rest_text(cur *k, hd_imap_resp *r)
{
    const char *e = k->end;
    if (e > k->c && e[-1] == '\n')
        e--;
    if (e > k->c && e[-1] == '\r')
        e--;
    r->text = k->c;
    r->text_len = (size_t)(e - k->c);
}

static bool parse_resp(const char *s, size_t n, hd_imap_resp *r)
{
    cur k = {s, s + n};
    const char *w;
    size_t wn;
    memset(r, 0, sizeof *r);
    if (eat(&k, '+')) {
        r->kind = HD_IMAP_CONTINUE;
        eat(&k, ' ');
        rest_text(&k, r);
        return true;
    }
    if (eat(&k, '*')) {
        r->kind = HD_IMAP_UNTAGGED;
        if (!eat(&k, ' '))
            return false;
        if (at(&k, '0') || (k.c<k.end && * k.c> '0' && *k.c <= '9')) {
            if (!number32(&k, &r->number) || !eat(&k, ' '))
                return false;
            wn = atom(&k, &w);
            if (word_is(w, wn, "EXISTS"))
                r->data = HD_IMAP_DATA_EXISTS;
            else if (word_is(w, wn, "RECENT"))
                r->data = HD_IMAP_DATA_RECENT;
            else if (word_is(w, wn, "EXPUNGE"))
                r->data = HD_IMAP_DATA_EXPUNGE;
            else if (word_is(w, wn, "FETCH"))
                r->data = HD_IMAP_DATA_FETCH;
            else if (wn)
                r->data = HD_IMAP_DATA_OTHER;
            else
                return false;
            if (r->data == HD_IMAP_DATA_FETCH) {
                if (!eat(&k, ' ') || !fetch_items(&k, r))
                    return false;
            } else {
                eat(&k, ' ');
            }
            rest_text(&k, r);
            return true;
        }
        wn = atom(&k, &w);
        if (!wn)
            return false;
        eat(&k, ' ');
        r->status = status_of(w, wn);
        if (r->status == HD_IMAP_NONE) {
            r->data = HD_IMAP_DATA_OTHER;
            rest_text(&k, r);
            return true;
        }
        if (!resp_code(&k, r))
            return false;
        rest_text(&k, r);
        return true;
    }
    r->kind = HD_IMAP_TAGGED;
    r->tag_len = atom(&k, &r->tag);
    if (!r->tag_len || !eat(&k, ' '))
        return false;
    wn = atom(&k, &w);
    r->status = status_of(w, wn);
    if (r->status != HD_IMAP_OK && r->status != HD_IMAP_NO && r->status != HD_IMAP_BAD)
        return false;
    eat(&k, ' ');
    if (!resp_code(&k, r))
        return false;
    rest_text(&k, r);
    return true;
}

int hd_imap_proto_next(hd_imap_proto *p, hd_imap_resp *out, hd_err *err)
{
    if (p->broken)
        return hd_err_set(err, p->broken, "imap: connection already failed");
    while (p->scan < p->len) {
        if (p->lit) {
            size_t take = p->len - p->scan;
            if ((uint64_t)take > p->lit)
                take = (size_t)p->lit;
            p->scan += take;
            p->lit -= take;
            if (!p->lit)
                p->line = p->scan;
        } else {
            const char *nl = memchr(p->buf + p->scan, '\n', p->len - p->scan);
            if (!nl) {
                p->scan = p->len;
                break;
            }
            size_t line_start = p->line;
            p->scan = (size_t)(nl - p->buf) + 1;
            p->line = p->scan;
            uint64_t lit = 0;
            int l = literal_at_end(p->buf + line_start, (size_t)(nl - p->buf) - line_start, &lit);
            if (l < 0) {
                p->broken = HD_ECORRUPT;
                return hd_err_set(err, HD_ECORRUPT, "imap: literal length out of range");
            }
            if (l == 1) {
                if (lit > p->max_resp) {
                    p->broken = HD_ETOOBIG;
                    return hd_err_set(err, HD_ETOOBIG, "imap: literal of %llu bytes over %zu",
                                      (unsigned long long)lit, p->max_resp);
                }
                p->lit = lit;
                continue;
            }
            size_t start = p->start;
            if (p->scan - start > p->max_resp) {
                p->broken = HD_ETOOBIG;
                return hd_err_set(err, HD_ETOOBIG, "imap: response over %zu bytes", p->max_resp);
            }
            p->start = p->scan;
            if (!parse_resp(p->buf + start, p->scan - start, out)) {
                p->broken = HD_ECORRUPT;
                return hd_err_set(err, HD_ECORRUPT, "imap: malformed response at byte %zu", start);
            }
            return 1;
        }
        if (p->scan - p->start > p->max_resp) {
            p->broken = HD_ETOOBIG;
            return hd_err_set(err, HD_ETOOBIG, "imap: response over %zu bytes", p->max_resp);
        }
    }
    if (p->scan - p->start > p->max_resp) {
        p->broken = HD_ETOOBIG;
        return hd_err_set(err, HD_ETOOBIG, "imap: response over %zu bytes", p->max_resp);
    }
    return 0;
}
