/* IMAP commands through libcurl and their response parsers (see imap.h). */
#include "server/mail/imap.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t imap_once = PTHREAD_ONCE_INIT;

static void imap_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void hd_imap_buf_free(hd_imap_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->over = false;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *ud)
{
    hd_imap_buf *b = ud;
    size_t n = size * nmemb;
    if (b->max && b->len + n > b->max) {
        b->over = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *nd = realloc(b->data, cap);
        if (!nd)
            return 0;
        b->data = nd;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static bool name_ok(const char *s)
{
    return s && *s && !strpbrk(s, "\r\n\"\\");
}

CURL *hd_imap_easy(const hd_imap_conf *c, hd_imap_cmd cmd, const hd_imap_args *args,
                   hd_imap_buf *out, hd_err *err)
{
    char url[1024], custom[1024];
    char *folder_esc = NULL;
    CURL *h = NULL;
    const char *folder = c->folder && *c->folder ? c->folder : "INBOX";
    pthread_once(&imap_once, imap_init);
    if (!c->url || !*c->url || !name_ok(folder) ||
        (cmd == HD_IMAP_MOVE && !name_ok(args->target))) {
        hd_err_set(err, HD_EINVAL, "imap: bad url or folder name");
        return NULL;
    }
    h = curl_easy_init();
    if (!h)
        goto oom;
    folder_esc = curl_easy_escape(h, folder, 0);
    if (!folder_esc)
        goto oom;
    custom[0] = '\0';
    switch (cmd) {
    case HD_IMAP_SELECT:
        snprintf(url, sizeof url, "%s/", c->url);
        snprintf(custom, sizeof custom, "SELECT \"%s\"", folder);
        break;
    case HD_IMAP_SEARCH:
        snprintf(url, sizeof url, "%s/%s", c->url, folder_esc);
        if (args->uid_to)
            snprintf(custom, sizeof custom, "UID SEARCH UID %" PRIu32 ":%" PRIu32,
                     args->uid ? args->uid : 1, args->uid_to);
        else
            snprintf(custom, sizeof custom, "UID SEARCH UID %" PRIu32 ":*",
                     args->uid ? args->uid : 1);
        break;
    case HD_IMAP_LARGER:
        snprintf(url, sizeof url, "%s/%s", c->url, folder_esc);
        if (args->uid_to)
            snprintf(custom, sizeof custom,
                     "UID SEARCH UID %" PRIu32 ":%" PRIu32 " LARGER %" PRIu64,
                     args->uid ? args->uid : 1, args->uid_to, args->size);
        else
            snprintf(custom, sizeof custom, "UID SEARCH UID %" PRIu32 ":* LARGER %" PRIu64,
                     args->uid ? args->uid : 1, args->size);
        break;
    case HD_IMAP_SIZES:
        snprintf(url, sizeof url, "%s/%s", c->url, folder_esc);
        snprintf(custom, sizeof custom, "UID FETCH %s (UID RFC822.SIZE)", args->set);
        break;
    case HD_IMAP_FETCH:
        /* libcurl checks UIDVALIDITY and streams exactly the literal's bytes. */
        snprintf(url, sizeof url, "%s/%s;UIDVALIDITY=%" PRIu32 "/;UID=%" PRIu32, c->url, folder_esc,
                 args->uid_validity, args->uid);
        break;
    case HD_IMAP_SEEN:
        snprintf(url, sizeof url, "%s/%s", c->url, folder_esc);
        snprintf(custom, sizeof custom, "UID STORE %s +FLAGS.SILENT (\\Seen)", args->set);
        break;
    case HD_IMAP_MOVE:
        snprintf(url, sizeof url, "%s/%s", c->url, folder_esc);
        snprintf(custom, sizeof custom, "UID MOVE %s \"%s\"", args->set, args->target);
        break;
    }
    curl_free(folder_esc);
    folder_esc = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (*custom)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, custom);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->username ? c->username : "");
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
    curl_easy_setopt(h, CURLOPT_USE_SSL, c->tls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms > 0 ? c->timeout_ms : 60000L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    return h;
oom:
    curl_free(folder_esc);
    curl_easy_cleanup(h);
    hd_err_set(err, HD_ENOMEM, "imap: out of memory");
    return NULL;
}

int hd_imap_result(CURL *h, CURLcode cc, const hd_imap_buf *out, hd_err *err)
{
    (void)h;
    if (cc == CURLE_OK)
        return HD_OK;
    if (out && out->over)
        return hd_err_set(err, HD_ETOOBIG, "imap: message larger than %zu bytes", out->max);
    if (cc == CURLE_LOGIN_DENIED)
        return hd_err_set(err, HD_EPERM, "imap: login refused");
    return hd_err_set(err, HD_EUNAVAIL, "imap: %s", curl_easy_strerror(cc));
}

/* ---- Parsers ----------------------------------------------------------------------------- */

/* Calls fn for each line (without CR/LF) of buf. */
typedef int (*line_fn)(void *ud, const char *l, size_t n);

static int each_line(const char *buf, size_t n, line_fn fn, void *ud)
{
    size_t pos = 0;
    while (pos < n) {
        const char *l = buf + pos;
        const char *eol = memchr(l, '\n', n - pos);
        size_t ln = eol ? (size_t)(eol - l) : n - pos;
        size_t len = ln;
        if (len > 0 && l[len - 1] == '\r')
            len--;
        int rc = fn(ud, l, len);
        if (rc < 0)
            return rc;
        pos += ln + (eol ? 1 : 0);
    }
    return 0;
}

/* Parses a decimal u64 at *p (at most end); returns false when no digit or overflow. */
static bool num(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || *s < '0' || *s > '9')
        return false;
    while (s < end && *s >= '0' && *s <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    *p = s;
    *out = v;
    return true;
}

static const char *find(const char *l, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (strncasecmp(l + i, needle, k) == 0)
            return l + i;
    return NULL;
}

typedef struct select_acc {
    uint32_t uidv, exists;
    bool have_uidv;
} select_acc;

static int select_line(void *ud, const char *l, size_t n)
{
    select_acc *s = ud;
    const char *end = l + n;
    uint64_t v;
    if (n < 2 || l[0] != '*' || l[1] != ' ')
        return 0;
    const char *p = find(l, n, "[UIDVALIDITY ");
    if (p) {
        p += 13;
        if (num(&p, end, &v) && v <= UINT32_MAX && v > 0) {
            s->uidv = (uint32_t)v;
            s->have_uidv = true;
        }
        return 0;
    }
    p = l + 2;
    if (num(&p, end, &v) && p < end && find(p, (size_t)(end - p), " EXISTS") == p &&
        v <= UINT32_MAX)
        s->exists = (uint32_t)v;
    return 0;
}

int hd_imap_parse_select(const char *buf, size_t n, uint32_t *uid_validity, uint32_t *exists,
                         hd_err *err)
{
    select_acc s = {0};
    each_line(buf, n, select_line, &s);
    *uid_validity = s.uidv;
    *exists = s.exists;
    if (!s.have_uidv)
        return hd_err_set(err, HD_EINVAL, "imap: SELECT response without UIDVALIDITY");
    return HD_OK;
}

uint32_t hd_imap_parse_uidnext(const char *buf, size_t n)
{
    const char *p = find(buf, n, "[UIDNEXT ");
    uint64_t v = 0;
    if (!p)
        return 0;
    p += 9;
    if (!num(&p, buf + n, &v) || v > UINT32_MAX)
        return 0;
    return (uint32_t)v;
}

typedef struct u32_acc {
    hd_arena *a;
    uint32_t min;
    uint32_t *v;
    size_t n, cap;
    bool bad;
} u32_acc;

static int push_u32(u32_acc *s, uint32_t u)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint32_t *nv = hd_arena_alloc(s->a, cap * sizeof *nv);
        if (!nv)
            return HD_ENOMEM;
        if (s->n)
            memcpy(nv, s->v, s->n * sizeof *nv);
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = u;
    return 0;
}

static int search_line(void *ud, const char *l, size_t n)
{
    u32_acc *s = ud;
    const char *end = l + n;
    if (n < 8 || strncasecmp(l, "* SEARCH", 8) != 0)
        return 0;
    const char *p = l + 8;
    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        if (p >= end)
            break;
        uint64_t v;
        if (!num(&p, end, &v) || v == 0 || v > UINT32_MAX) {
            s->bad = true;
            return 0;
        }
        if (v >= s->min && push_u32(s, (uint32_t)v) < 0)
            return HD_ENOMEM;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int hd_imap_parse_search(const char *buf, size_t n, uint32_t min_uid, hd_arena *a, uint32_t **uids,
                         size_t *count, hd_err *err)
{
    u32_acc s = {.a = a, .min = min_uid};
    if (each_line(buf, n, search_line, &s) < 0)
        return hd_err_set(err, HD_ENOMEM, "imap: out of memory");
    if (s.bad)
        return hd_err_set(err, HD_EINVAL, "imap: malformed SEARCH response");
    if (s.n > 1)
        qsort(s.v, s.n, sizeof *s.v, cmp_u32);
    /* Drop duplicates. */
    size_t w = 0;
    for (size_t i = 0; i < s.n; i++)
        if (w == 0 || s.v[w - 1] != s.v[i])
            s.v[w++] = s.v[i];
    *uids = s.v;
    *count = w;
    return HD_OK;
}

typedef struct size_acc {
    hd_arena *a;
    hd_imap_size *v;
    size_t n, cap;
    bool bad;
} size_acc;

static int size_line(void *ud, const char *l, size_t n)
{
    size_acc *s = ud;
    const char *end = l + n;
    if (n < 2 || l[0] != '*' || !find(l, n, " FETCH ("))
        return 0;
    const char *pu = find(l, n, "UID ");
    const char *ps = find(l, n, "RFC822.SIZE ");
    uint64_t uid, size;
    if (!pu || !ps) {
        s->bad = true;
        return 0;
    }
    pu += 4;
    ps += 12;
    if (!num(&pu, end, &uid) || !num(&ps, end, &size) || uid == 0 || uid > UINT32_MAX) {
        s->bad = true;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        hd_imap_size *nv = hd_arena_alloc(s->a, cap * sizeof *nv);
        if (!nv)
            return HD_ENOMEM;
        if (s->n)
            memcpy(nv, s->v, s->n * sizeof *nv);
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = (hd_imap_size){(uint32_t)uid, size};
    return 0;
}

int hd_imap_parse_sizes(const char *buf, size_t n, hd_arena *a, hd_imap_size **out, size_t *count,
                        hd_err *err)
{
    size_acc s = {.a = a};
    if (each_line(buf, n, size_line, &s) < 0)
        return hd_err_set(err, HD_ENOMEM, "imap: out of memory");
    if (s.bad)
        return hd_err_set(err, HD_EINVAL, "imap: malformed FETCH response");
    *out = s.v;
    *count = s.n;
    return HD_OK;
}

char *hd_imap_uid_set(hd_arena *a, const uint32_t *uids, size_t n)
{
    size_t cap = n * 22 + 1;
    char *out = hd_arena_alloc(a, cap);
    if (!out)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && uids[j + 1] == uids[j] + 1)
            j++;
        int w = j > i ? snprintf(out + len, cap - len, "%s%" PRIu32 ":%" PRIu32, len ? "," : "",
                                 uids[i], uids[j])
                      : snprintf(out + len, cap - len, "%s%" PRIu32, len ? "," : "", uids[i]);
        len += (size_t)w;
        i = j + 1;
    }
    return out;
}
