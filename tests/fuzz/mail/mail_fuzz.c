/* Fuzz target for the mail ingest path's parsers of outside input, i.e. what an IMAP server
 * and a mail sender control. The first byte picks the path over the rest:
 * - even: the MIME parser (hd_mime_parse + loop classification + the address handling that
 *   threading reads). Parsed messages must hold their invariants (valid UTF-8 text, bounded
 *   counts, lower-case addresses).
 * - odd: the IMAP response parser the poller reads the server with (imap_proto), fed whole
 *   and split at byte (first >> 1) % size: the same responses and final status either way,
 *   bodies and texts inside the input and within the limit; each FETCH BODY[] (the first
 *   few) then goes through the MIME path, as the poller hands it to ingest.
 * Built as a libFuzzer target with clang, or with HD_FUZZ_DRIVER as a plain test that runs
 * the corpus (tests/data/mail), IMAP transcripts and bounded pseudo-random mutations. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/common/arena.h"
#include "server/mail/imap_proto.h"
#include "server/mail/loop.h"
#include "server/mail/mime.h"
#include "server/validate/validate.h"
#include "tests/fuzz/corpus.h"

#define FUZZ_MAX_RESP    4096 /* the IMAP parser's response limit here */
#define FUZZ_MAX_OUT     256  /* responses compared between whole and split feeding */
#define FUZZ_MIME_BODIES 4    /* FETCH bodies per input that go on to the MIME parser */

static void fuzz_mime(hd_arena *a, const uint8_t *data, size_t size)
{
    hd_mime_msg *m = NULL;
    hd_err err;
    hd_mime_limits lim = {.attach_bytes = 64 * 1024};
    if (hd_mime_parse(&m, a, data, size, &lim, &err) != 0)
        return;
    CHECK(m->message_id && *m->message_id);
    CHECK(hd_validate_utf8(m->text, strlen(m->text)));
    CHECK(hd_validate_utf8(m->subject, strlen(m->subject)));
    CHECK(hd_validate_single_line(m->subject, strlen(m->subject)));
    CHECK(strlen(m->new_text) <= strlen(m->text));
    CHECK(m->n_attachments <= HD_MIME_ATTACH_COUNT_DEFAULT);
    CHECK(m->n_references <= HD_MIME_REFERENCES_MAX);
    for (size_t i = 0; i < m->n_attachments; i++)
        CHECK(m->attachments[i].size <= lim.attach_bytes && strlen(m->attachments[i].sha256) == 64);
    hd_loop_verdict v = hd_loop_classify(m, "helpdesk.test");
    CHECK(v.may_autoreply == (v.kind == HD_LOOP_HUMAN));
    for (size_t i = 0; i < m->n_to + m->n_cc; i++) {
        const char *addr = i < m->n_to ? m->to[i].addr : m->cc[i - m->n_to].addr;
        for (const char *p = addr; *p; p++)
            CHECK(!(*p >= 'A' && *p <= 'Z'));
    }
}

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

/* Feeds data split at cut and records every response; with a (non-NULL), FETCH bodies go
 * on to the MIME path. */
static void run_imap(const uint8_t *data, size_t size, size_t cut, seen *out, hd_arena *a)
{
    hd_imap_proto *p = hd_imap_proto_new(FUZZ_MAX_RESP);
    hd_imap_resp r;
    hd_err err;
    size_t pieces[2] = {cut, size};
    size_t at = 0, bodies = 0;
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
            CHECK(r.has_body || !r.body);
            if (out->n < FUZZ_MAX_OUT)
                out->hash[out->n++] = resp_hash(&r);
            if (a && r.has_body && r.body && bodies++ < FUZZ_MIME_BODIES)
                fuzz_mime(a, (const uint8_t *)r.body, r.body_len);
        }
    }
    CHECK(out->rc == 0 || out->rc == HD_ECORRUPT || out->rc == HD_ETOOBIG);
    hd_imap_proto_free(p);
}

static void fuzz_imap(hd_arena *a, size_t cut, const uint8_t *data, size_t size)
{
    seen whole, split;
    if (cut > size)
        cut = size;
    run_imap(data, size, size, &whole, a);
    run_imap(data, size, cut, &split, NULL);
    /* a limit error may come earlier or later; every other outcome must match exactly */
    if (whole.rc != HD_ETOOBIG && split.rc != HD_ETOOBIG) {
        CHECK(whole.rc == split.rc);
        CHECK(whole.n == split.n);
        CHECK(memcmp(whole.hash, split.hash, whole.n * sizeof whole.hash[0]) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return 0;
    if (data[0] & 1)
        fuzz_imap(a, size > 1 ? (size_t)(data[0] >> 1) % (size - 1) : 0, data + 1, size - 1);
    else
        fuzz_mime(a, data + 1, size - 1);
    hd_arena_destroy(a);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
/* Regression driver: IMAP transcripts (odd first byte) and every corpus message (first byte
 * 0) as they are, then mutations. */
int main(void)
{
    static const char *const imap[] = {
        "\x21* OK [CAPABILITY IMAP4rev1 STARTTLS IDLE] ready\r\nA1 OK done\r\n",
        "\x0b* 3 EXISTS\r\n* OK [UIDVALIDITY 17] x\r\n* OK [UIDNEXT 4] y\r\nA2 OK [READ-WRITE] "
        "s\r\n",
        "\x43* 1 FETCH (UID 7 RFC822.SIZE 1834 FLAGS (\\Seen))\r\n* 2 FETCH (RFC822.SIZE 9 UID "
        "8)\r\nA3 OK f\r\n",
        "\x61* 1 FETCH (UID 7 BODY[] {12}\r\nSubject: a\r\n)\r\n* 2 FETCH (UID 8 BODY[] "
        "{3+}\r\nabc)\r\n",
        "\x05* 1 FETCH (BODY[HEADER.FIELDS (A B)] {2}\r\nxy BODY[] \"q\\\"\" X (1 (2 NIL)))\r\n",
        "\x03+ go ahead\r\nA4 NO [TRYCREATE] no\r\nA5 BAD x\r\n* BYE bye\r\n",
        "\x09+ idling\r\n* 4 EXISTS\r\n* 1 RECENT\r\n* 2 EXPUNGE\r\nA6 OK Idle completed\r\n",
        "\x11* 1 FETCH (UID 9 BODY[] {98}\r\nFrom: Ann <ANN@Customer.example>\r\nTo: "
        "support@helpdesk.test\r\nSubject: hi\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n)\r\nA7 OK "
        "x\r\n",
    };
    uint64_t st = 0x1234567u;
    size_t runs = 0, seeds = 0;
    for (size_t i = 0; i < sizeof imap / sizeof imap[0]; i++, seeds++)
        runs += hd_fuzz_run_mutations((const uint8_t *)imap[i], strlen(imap[i]), 3000, &st);
    DIR *d = opendir("tests/data/mail");
    if (!d) {
        fprintf(stderr, "no corpus at tests/data/mail\n");
        return 1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".eml"))
            continue;
        char path[512];
        snprintf(path, sizeof path, "tests/data/mail/%s", de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *raw = sz >= 0 ? malloc((size_t)sz + 1) : NULL;
        if (raw && fread(raw + 1, 1, (size_t)sz, f) == (size_t)sz) {
            raw[0] = 0; /* the MIME path */
            size_t n = (size_t)sz + 1 < HD_FUZZ_INPUT_MAX ? (size_t)sz + 1 : HD_FUZZ_INPUT_MAX;
            runs += hd_fuzz_run_mutations(raw, n, sz > 100000 ? 5 : 200, &st);
            seeds++;
        }
        free(raw);
        fclose(f);
    }
    closedir(d);
    printf("mail fuzz regression: %zu seeds, %zu inputs\n", seeds, runs);
    return seeds > 20 ? 0 : 1;
}
#endif
