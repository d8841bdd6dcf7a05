/* Fuzz target for the store's key encoding (key.h), which every index and scan relies on.
 * The first byte is a field plan (2 bits per field: u32, u64, i64, string); the rest are
 * read as an encoded key with that plan. Whatever decodes must re-encode to exactly the
 * bytes read (one encoding per value). The input is also split into two strings whose
 * encodings must compare like the strings themselves (order preservation), alone and
 * followed by a further field.
 * libFuzzer target with clang (tools/fuzz key_fuzz), or with HD_FUZZ_DRIVER a plain test
 * replaying corpus/ plus bounded mutations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/common/arena.h"
#include "server/store/key.h"
#include "tests/fuzz/corpus.h"

/* Decodes data with the plan and re-encodes what was read into k. Returns bytes consumed. */
static size_t roundtrip(hd_key *k, hd_arena *a, uint8_t plan, const uint8_t *data, size_t size)
{
    hd_key_reader r;
    hd_err err = {0};
    hd_key_reader_init(&r, data, size);
    hd_key_init(k);
    for (int f = 0; f < 4; f++) {
        size_t before = size - hd_key_reader_left(&r);
        int rc;
        switch ((plan >> (2 * f)) & 3) {
        case 0: {
            uint32_t v;
            rc = hd_key_read_u32(&r, &v, &err);
            if (rc == 0)
                hd_key_u32(k, v);
            break;
        }
        case 1: {
            uint64_t v;
            rc = hd_key_read_u64(&r, &v, &err);
            if (rc == 0)
                hd_key_u64(k, v);
            break;
        }
        case 2: {
            int64_t v;
            rc = hd_key_read_i64(&r, &v, &err);
            if (rc == 0)
                hd_key_i64(k, v);
            break;
        }
        default: {
            char *s;
            size_t n;
            rc = hd_key_read_str(&r, a, &s, &n, &err);
            if (rc == 0)
                hd_key_strn(k, s, n);
            break;
        }
        }
        if (rc != 0)
            return before;
    }
    return size - hd_key_reader_left(&r);
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

static int cmp_bytes(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? sign(c) : (an > bn) - (an < bn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return 0;
    hd_key k;
    size_t used = roundtrip(&k, a, data[0], data + 1, size - 1);
    if (!k.overflow) {
        CHECK(k.len == used);
        CHECK(memcmp(k.buf, data + 1, used) == 0);
    }
    /* Order: split the rest in two strings. */
    size_t cut = size > 2 ? data[0] % (size - 1) : 0;
    const char *s1 = (const char *)data + 1, *s2 = (const char *)data + 1 + cut;
    size_t n1 = cut, n2 = size - 1 - cut;
    for (int tail = 0; tail < 2; tail++) {
        hd_key k1, k2;
        hd_key_init(&k1);
        hd_key_init(&k2);
        hd_key_strn(&k1, s1, n1);
        hd_key_strn(&k2, s2, n2);
        if (tail) { /* a further field must not change the order of different strings */
            hd_key_u64(&k1, UINT64_MAX);
            hd_key_u64(&k2, 0);
        }
        if (k1.overflow || k2.overflow)
            continue;
        int want = cmp_bytes(s1, n1, s2, n2);
        if (tail && want == 0)
            want = 1;
        CHECK(cmp_bytes(k1.buf, k1.len, k2.buf, k2.len) == want);
    }
    hd_arena_destroy(a);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
int main(int argc, char **argv)
{
    size_t runs = hd_fuzz_corpus_replay(argc > 1 ? argv[1] : "tests/fuzz/store/corpus", 2000);
    printf("key_fuzz: %zu inputs\n", runs);
    CHECK(runs >= 1000);
    return 0;
}
#endif
