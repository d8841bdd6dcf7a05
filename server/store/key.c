/* Order-preserving key encodings (see key.h): big-endian integers, sign-flipped signed
 * integers and escaped, terminated strings, so memcmp order is value order. */
#include "server/store/key.h"

#include <string.h>

#define HD_KEY_ESC     0x00u
#define HD_KEY_ESC_NUL 0xFFu
#define HD_KEY_ESC_END 0x01u

void hd_key_init(hd_key *k)
{
    k->len = 0;
    k->overflow = 0;
}

static void key_put(hd_key *k, const void *p, size_t n)
{
    if (k->overflow || n > HD_KEY_MAX - k->len) {
        k->overflow = 1;
        return;
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
}

static void key_put_be(hd_key *k, uint64_t v, unsigned bytes)
{
    unsigned char b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * (bytes - 1 - i)));
    key_put(k, b, bytes);
}

hd_key *hd_key_u8(hd_key *k, uint8_t v)
{
    key_put(k, &v, 1);
    return k;
}

hd_key *hd_key_u32(hd_key *k, uint32_t v)
{
    key_put_be(k, v, 4);
    return k;
}

hd_key *hd_key_u64(hd_key *k, uint64_t v)
{
    key_put_be(k, v, 8);
    return k;
}

hd_key *hd_key_i64(hd_key *k, int64_t v)
{
    key_put_be(k, (uint64_t)v ^ UINT64_C(0x8000000000000000), 8);
    return k;
}

hd_key *hd_key_str_prefix(hd_key *k, const char *s, size_t n)
{
    static const unsigned char esc_nul[2] = {HD_KEY_ESC, HD_KEY_ESC_NUL};
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] != HD_KEY_ESC)
            continue;
        key_put(k, s + run, i - run);
        key_put(k, esc_nul, 2);
        run = i + 1;
    }
    key_put(k, s + run, n - run);
    return k;
}

hd_key *hd_key_strn(hd_key *k, const char *s, size_t n)
{
    static const unsigned char end[2] = {HD_KEY_ESC, HD_KEY_ESC_END};
    if (n)
        hd_key_str_prefix(k, s, n);
    key_put(k, end, 2);
    return k;
}

hd_key *hd_key_str(hd_key *k, const char *s)
{
    return hd_key_strn(k, s ? s : "", s ? strlen(s) : 0);
}

hd_key *hd_key_bytes(hd_key *k, const void *p, size_t n)
{
    key_put(k, p, n);
    return k;
}

void hd_key_reader_init(hd_key_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
}

size_t hd_key_reader_left(const hd_key_reader *r)
{
    return r->len - r->pos;
}

static int read_be(hd_key_reader *r, unsigned bytes, uint64_t *out, hd_err *err)
{
    if (r->len - r->pos < bytes)
        return hd_err_set(err, HD_ECORRUPT, "key: %u-byte field at offset %zu, only %zu left",
                          bytes, r->pos, r->len - r->pos);
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = (v << 8) | r->p[r->pos + i];
    r->pos += bytes;
    *out = v;
    return 0;
}

int hd_key_read_u8(hd_key_reader *r, uint8_t *out, hd_err *err)
{
    uint64_t v = 0;
    int rc = read_be(r, 1, &v, err);
    if (rc == 0)
        *out = (uint8_t)v;
    return rc;
}

int hd_key_read_u32(hd_key_reader *r, uint32_t *out, hd_err *err)
{
    uint64_t v = 0;
    int rc = read_be(r, 4, &v, err);
    if (rc == 0)
        *out = (uint32_t)v;
    return rc;
}

int hd_key_read_u64(hd_key_reader *r, uint64_t *out, hd_err *err)
{
    return read_be(r, 8, out, err);
}

int hd_key_read_i64(hd_key_reader *r, int64_t *out, hd_err *err)
{
    uint64_t v = 0;
    int rc = read_be(r, 8, &v, err);
    if (rc == 0)
        *out = (int64_t)(v ^ UINT64_C(0x8000000000000000));
    return rc;
}

int hd_key_read_str(hd_key_reader *r, hd_arena *a, char **out, size_t *n, hd_err *err)
{
    /* First pass finds the terminator and the decoded length. */
    size_t i = r->pos, dlen = 0;
    for (;;) {
        if (i >= r->len)
            return hd_err_set(err, HD_ECORRUPT, "key: unterminated string at offset %zu", r->pos);
        if (r->p[i] != HD_KEY_ESC) {
            dlen++;
            i++;
            continue;
        }
        if (i + 1 >= r->len)
            return hd_err_set(err, HD_ECORRUPT, "key: truncated escape at offset %zu", i);
        if (r->p[i + 1] == HD_KEY_ESC_END)
            break;
        if (r->p[i + 1] != HD_KEY_ESC_NUL)
            return hd_err_set(err, HD_ECORRUPT, "key: bad escape 0x%02x at offset %zu", r->p[i + 1],
                              i);
        dlen++;
        i += 2;
    }
    char *s = hd_arena_alloc(a, dlen + 1);
    if (!s)
        return hd_err_set(err, HD_ENOMEM, "key: %zu-byte string", dlen);
    size_t o = 0;
    for (size_t j = r->pos; j < i;) {
        if (r->p[j] == HD_KEY_ESC) {
            s[o++] = '\0';
            j += 2;
        } else {
            s[o++] = (char)r->p[j++];
        }
    }
    s[o] = '\0';
    r->pos = i + 2;
    *out = s;
    if (n)
        *n = dlen;
    return 0;
}

int hd_key_read_bytes(hd_key_reader *r, size_t n, const void **out, hd_err *err)
{
    if (r->len - r->pos < n)
        return hd_err_set(err, HD_ECORRUPT, "key: %zu raw bytes at offset %zu, only %zu left", n,
                          r->pos, r->len - r->pos);
    *out = r->p + r->pos;
    r->pos += n;
    return 0;
}
