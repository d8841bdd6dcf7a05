/* Fuzz target for the IMAP response parser (server/mail/imap_proto): the first byte picks a
 * split point, the rest is server output. Properties: no crash or leak; the responses (and
 * the final status) are the same fed whole or in two pieces; every body and text lies inside
 * the input; a response never exceeds the limit. Built as a libFuzzer target with clang, or
 * with HD_FUZZ_DRIVER as a plain test over hand-written transcripts and bounded mutations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/mail/imap_proto.h"
#include "tests/fuzz/corpus.h"

#define FUZZ_MAX_RESP 4096
#define FUZZ_MAX_OUT  256

typedef struct seen {
    uint64_t hash[FUZZ_MAX_OUT];
    size_t n;
    int rc;
} seen;

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static uint64_t resp_hash(const hd_imap_resp *r)
{
    uint64_t h = 14695981039346656037ull;
    uint64_t nums[] = {
        r->kind,        r->status,      r->data,      r->number,      r->has_uidvalidity,
        r->uidvalidity, r->has_uidnext, r->uidnext,   r->has_uid,     r->uid,
        r->has_size,    r->size,        r->has_flags, r->seen,        r->has_body,
        r->body_len,    r->text_len,    r->tag_len,   r->body != NULL};
    h = mix(h, nums, sizeof nums);
    if (r->body)
        h = mix(h, r->body, r->body_len);
    if (r->text)
        h = mix(h, r->text, r->text_len);
    if (r->tag)
        h = mix(h, r->tag, r->tag_len);
    return h;
}

/* Feeds data split at cut and records every response. */
static void run(const uint8_t *data, size_t size, size_t cut, seen *out)
{
    hd_imap_proto *p = hd_imap_proto_new(FUZZ_MAX_RESP);
    hd_imap_resp r;
    hd_err err;
    size_t pieces[2] = {cut, size};
    size_t at = 0;
    out->n = 0;
    out->rc = 0;
    if (!p)
        abort();
    for (int i = 0; i < 2 && out->rc >= 0; i++) {
        CHECK(hd_imap_proto_feed(p, data + at, pieces[i] - at, &err) == 0);
        at = pieces[i];
        while ((out->rc = hd_imap_proto_next(p, &r, &err)) == 1) {
            CHECK(r.body_len <= FUZZ_MAX_RESP && r.text_len <= FUZZ_MAX_RESP);
            CHECK(!r.body || r.body_len <= size);
            CHECK(r.kind != HD_IMAP_TAGGED || r.tag_len > 0);
            CHECK(r.data != HD_IMAP_DATA_FETCH || r.kind == HD_IMAP_UNTAGGED);
            if (out->n < FUZZ_MAX_OUT)
                out->hash[out->n++] = resp_hash(&r);
        }
    }
    hd_imap_proto_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seen whole, split;
    if (size < 1)
        return 0;
    size_t cut = data[0] % size;
    data++;
    size--;
    if (cut > size)
        cut = size;
    run(data, size, size, &whole);
    run(data, size, cut, &split);
    /* a limit error may come earlier or later; every other outcome must match exactly */
    if (whole.rc != HD_ETOOBIG && split.rc != HD_ETOOBIG) {
        CHECK(whole.rc == split.rc);
        CHECK(whole.n == split.n);
        CHECK(memcmp(whole.hash, split.hash, whole.n * sizeof whole.hash[0]) == 0);
    }
    return 0;
}

#ifdef HD_FUZZ_DRIVER
int main(void)
{
    static const char *const seeds[] = {
        "\x10* OK [CAPABILITY IMAP4rev1] ready\r\nA1 OK done\r\n",
        "\x05* 3 EXISTS\r\n* OK [UIDVALIDITY 17] x\r\n* OK [UIDNEXT 4] y\r\nA2 OK [READ-WRITE] "
        "s\r\n",
        "\x21* 1 FETCH (UID 7 RFC822.SIZE 1834 FLAGS (\\Seen))\r\nA3 OK f\r\n",
        "\x30* 1 FETCH (UID 7 BODY[] {12}\r\nSubject: a\r\n)\r\n* 2 FETCH (UID 8 BODY[] "
        "{3+}\r\nabc)\r\n",
        "\x02* 1 FETCH (BODY[HEADER.FIELDS (A B)] {2}\r\nxy BODY[] \"q\\\"\" X (1 (2 NIL)))\r\n",
        "\x01+ go ahead\r\nA4 NO [TRYCREATE] no\r\nA5 BAD x\r\n* BYE bye\r\n",
    };
    uint64_t st = 0x1234567u;
    size_t runs = 0;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        runs += hd_fuzz_run_mutations((const uint8_t *)seeds[i], strlen(seeds[i]), 3000, &st);
    printf("imap_proto_fuzz: %zu inputs\n", runs);
    return runs ? 0 : 1;
}
#endif
