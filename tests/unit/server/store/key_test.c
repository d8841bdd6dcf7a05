/* Key encodings: every field type round-trips, and memcmp order of encoded composite keys
 * equals the order of their decoded values (random property test against qsort). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/store/key.h"

static void every_field_type_round_trips(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_key k;
    hd_key_init(&k);
    hd_key_u8(&k, 0xAB);
    hd_key_u32(&k, 0xDEADBEEFu);
    hd_key_u64(&k, UINT64_C(0x0102030405060708));
    hd_key_i64(&k, INT64_MIN);
    hd_key_i64(&k, -1);
    hd_key_strn(&k, "a\0b\0", 4);
    hd_key_str(&k, "");
    hd_key_bytes(&k, "xyz", 3);
    assert_false(k.overflow);

    hd_key_reader r;
    hd_err err = {0};
    uint8_t u8;
    uint32_t u32;
    uint64_t u64;
    int64_t i1, i2;
    char *s1, *s2;
    size_t n1, n2;
    const void *raw;
    hd_key_reader_init(&r, k.buf, k.len);
    assert_int_equal(hd_key_read_u8(&r, &u8, &err), 0);
    assert_int_equal(hd_key_read_u32(&r, &u32, &err), 0);
    assert_int_equal(hd_key_read_u64(&r, &u64, &err), 0);
    assert_int_equal(hd_key_read_i64(&r, &i1, &err), 0);
    assert_int_equal(hd_key_read_i64(&r, &i2, &err), 0);
    assert_int_equal(hd_key_read_str(&r, a, &s1, &n1, &err), 0);
    assert_int_equal(hd_key_read_str(&r, a, &s2, &n2, &err), 0);
    assert_int_equal(hd_key_read_bytes(&r, 3, &raw, &err), 0);
    assert_int_equal(hd_key_reader_left(&r), 0);
    assert_int_equal(u8, 0xAB);
    assert_int_equal(u32, 0xDEADBEEFu);
    assert_int_equal(u64, UINT64_C(0x0102030405060708));
    assert_true(i1 == INT64_MIN);
    assert_int_equal(i2, -1);
    assert_int_equal(n1, 4);
    assert_memory_equal(s1, "a\0b\0", 4);
    assert_int_equal(n2, 0);
    assert_string_equal(s2, "");
    assert_memory_equal(raw, "xyz", 3);
    hd_arena_destroy(a);
}

static int memcmp_keys(const hd_key *x, const hd_key *y)
{
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->buf, y->buf, n);
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

static void strings_sort_like_bytes_even_with_nul_and_following_fields(void **state)
{
    (void)state;
    /* "a" < "a\0" < "a\0\0" < "a\x01" < "ab" < "b", each followed by a u64 field that
     * must not disturb the string order. */
    const struct {
        const char *s;
        size_t n;
    } v[] = {{"", 0}, {"a", 1}, {"a\0", 2}, {"a\0\0", 3}, {"a\x01", 2}, {"ab", 2}, {"b", 1}};
    size_t count = sizeof(v) / sizeof(v[0]);
    for (size_t i = 0; i + 1 < count; i++) {
        hd_key x, y;
        hd_key_init(&x);
        hd_key_strn(&x, v[i].s, v[i].n);
        hd_key_u64(&x, UINT64_MAX);
        hd_key_init(&y);
        hd_key_strn(&y, v[i + 1].s, v[i + 1].n);
        hd_key_u64(&y, 0);
        if (memcmp_keys(&x, &y) >= 0)
            fail_msg("key of string #%zu does not sort before #%zu", i, i + 1);
    }
}

static void string_prefix_matches_longer_strings_only(void **state)
{
    (void)state;
    hd_key p, yes, no;
    hd_key_init(&p);
    hd_key_str_prefix(&p, "bil", 3);
    hd_key_init(&yes);
    hd_key_str(&yes, "billing");
    hd_key_init(&no);
    hd_key_str(&no, "bi");
    assert_memory_equal(yes.buf, p.buf, p.len);
    assert_true(no.len < p.len || memcmp(no.buf, p.buf, p.len) != 0);
}

static void overflow_is_flagged_not_written_past_the_buffer(void **state)
{
    (void)state;
    char big[600];
    memset(big, 'x', sizeof(big));
    hd_key k;
    hd_key_init(&k);
    hd_key_strn(&k, big, sizeof(big));
    assert_true(k.overflow);
    assert_true(k.len <= HD_KEY_MAX);
}

static void truncated_or_bad_fields_fail_with_corrupt(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_key_reader r;
    hd_err err = {0};
    uint64_t u;
    char *s;
    const unsigned char three[3] = {1, 2, 3};
    hd_key_reader_init(&r, three, 3);
    assert_int_equal(hd_key_read_u64(&r, &u, &err), HD_ECORRUPT);
    const unsigned char unterminated[3] = {'a', 'b', 0};
    hd_key_reader_init(&r, unterminated, 3);
    assert_int_equal(hd_key_read_str(&r, a, &s, NULL, &err), HD_ECORRUPT);
    const unsigned char bad_escape[3] = {'a', 0, 7};
    hd_key_reader_init(&r, bad_escape, 3);
    assert_int_equal(hd_key_read_str(&r, a, &s, NULL, &err), HD_ECORRUPT);
    hd_arena_destroy(a);
}

/* Property test: random (i64, string, u32) tuples; sorting by encoded key must equal
 * sorting by the values, and every key decodes back to its tuple. */
typedef struct tuple {
    int64_t i;
    char s[6];
    size_t n;
    uint32_t u;
    hd_key key;
} tuple;

static int cmp_values(const void *pa, const void *pb)
{
    const tuple *a = pa, *b = pb;
    if (a->i != b->i)
        return a->i < b->i ? -1 : 1;
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->s, b->s, n);
    if (c)
        return c;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    if (a->u != b->u)
        return a->u < b->u ? -1 : 1;
    return 0;
}

static int cmp_encoded(const void *pa, const void *pb)
{
    return memcmp_keys(&((const tuple *)pa)->key, &((const tuple *)pb)->key);
}

static void random_composite_keys_sort_like_their_values(void **state)
{
    (void)state;
    enum { N = 4000 };
    static tuple by_value[N], by_key[N];
    hd_arena *a = hd_arena_create(0);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < N; i++) {
        tuple *t = &by_value[i];
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Small alphabets make ties and shared prefixes common. */
        static const int64_t ints[] = {INT64_MIN, -2, -1, 0, 1, 2, INT64_MAX};
        t->i = ints[x % 7];
        t->n = (size_t)((x >> 8) % 6);
        for (size_t j = 0; j < t->n; j++)
            t->s[j] = "\0\x01"
                      "ab\xff"[(x >> (16 + 3 * j)) % 5];
        t->u = (uint32_t)((x >> 40) % 3) * 0x7FFFFFFFu;
        hd_key_init(&t->key);
        hd_key_i64(&t->key, t->i);
        hd_key_strn(&t->key, t->s, t->n);
        hd_key_u32(&t->key, t->u);
    }
    memcpy(by_key, by_value, sizeof(by_key));
    qsort(by_value, N, sizeof(tuple), cmp_values);
    qsort(by_key, N, sizeof(tuple), cmp_encoded);
    for (int i = 0; i < N; i++) {
        hd_key_reader r;
        hd_err err = {0};
        tuple d = {0};
        char *s;
        hd_key_reader_init(&r, by_key[i].key.buf, by_key[i].key.len);
        assert_int_equal(hd_key_read_i64(&r, &d.i, &err), 0);
        assert_int_equal(hd_key_read_str(&r, a, &s, &d.n, &err), 0);
        assert_true(d.n < sizeof(d.s));
        memcpy(d.s, s, d.n);
        assert_int_equal(hd_key_read_u32(&r, &d.u, &err), 0);
        assert_int_equal(hd_key_reader_left(&r), 0);
        if (cmp_values(&d, &by_value[i]) != 0)
            fail_msg("position %d: decoded key order differs from value order", i);
        hd_arena_reset(a);
    }
    hd_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_field_type_round_trips),
        cmocka_unit_test(strings_sort_like_bytes_even_with_nul_and_following_fields),
        cmocka_unit_test(string_prefix_matches_longer_strings_only),
        cmocka_unit_test(overflow_is_flagged_not_written_past_the_buffer),
        cmocka_unit_test(truncated_or_bad_fields_fail_with_corrupt),
        cmocka_unit_test(random_composite_keys_sort_like_their_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
