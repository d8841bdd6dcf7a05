/* Fuzz target for the mail ingest path's parsers of outside input: the first byte picks
 * the MIME parser (hd_mime_parse + loop classification + threading helpers that read the
 * parsed headers) or one of the IMAP response parsers (SELECT, SEARCH, FETCH sizes) over the

 * rest. Everything parsed must hold its invariants (valid UTF-8 text, bounded counts,
 * ascending UIDs). Built as a libFuzzer target with clang, or with HD_FUZZ_DRIVER as a plain
 * test that runs the corpus (tests/data/mail) and bounded pseudo-random mutations of it. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/common/arena.h"
#include "server/mail/imap.h"
#include "server/mail/loop.h"
#include "server/mail/mime.h"
#include "server/validate/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: parsed input breaks: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

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

static void fuzz_imap(hd_arena *a, int which, const uint8_t *data, size_t size)
{
    hd_err err;
    const char *b = (const char *)data;
    if (which == 1) {
        uint32_t v, e;
        if (hd_imap_parse_select(b, size, &v, &e, &err) == 0)
            CHECK(v != 0);
    } else if (which == 2) {
        uint32_t *u;
        size_t n;
        if (hd_imap_parse_search(b, size, 5, a, &u, &n, &err) == 0) {
            for (size_t i = 0; i < n; i++)
                CHECK(u[i] >= 5 && (i == 0 || u[i - 1] < u[i]));
            char *set = hd_imap_uid_set(a, u, n);
            CHECK(set != NULL);
        }
    } else {
        hd_imap_size *s;
        size_t n;
        if (hd_imap_parse_sizes(b, size, a, &s, &n, &err) == 0)
            for (size_t i = 0; i < n; i++)
                CHECK(s[i].uid != 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    hd_arena *a = hd_arena_create(0);
    if (!a)
        return 0;
    int which = data[0] % 4;
    if (which == 0)
        fuzz_mime(a, data + 1, size - 1);
    else
        fuzz_imap(a, which, data + 1, size - 1);
    hd_arena_destroy(a);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
/* Regression driver: every corpus message and IMAP sample as is, then mutations. */
static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void run_with_mutations(uint8_t sel, const char *raw, size_t n, int rounds)
{
    uint8_t *buf = malloc(n + 2);
    if (!buf)
        abort();
    buf[0] = sel;
    memcpy(buf + 1, raw, n);
    LLVMFuzzerTestOneInput(buf, n + 1);
    for (int r = 0; r < rounds; r++) {
        memcpy(buf + 1, raw, n);
        for (int k = 0; k < 8 && n; k++)
            buf[1 + next() % n] = (uint8_t)next();
        size_t len = n ? 1 + next() % n : 1;
        LLVMFuzzerTestOneInput(buf, len + 1);
    }
    free(buf);
}

int main(void)
{
    static const char *imap[] = {
        "* OK [UIDVALIDITY 1795575826] UIDs valid\r\n* 3 EXISTS\r\n",
        "* SEARCH 1 2 3 9 7 7\r\n",
        "* 1 FETCH (UID 1 RFC822.SIZE 108)\r\n* 2 FETCH (RFC822.SIZE 9 UID 2)\r\n",
    };
    size_t runs = 0;
    for (int i = 0; i < 3; i++, runs++)
        run_with_mutations((uint8_t)(i + 1), imap[i], strlen(imap[i]), 2000);
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
        char *raw = malloc((size_t)sz + 1);
        if (raw && fread(raw, 1, (size_t)sz, f) == (size_t)sz)
            run_with_mutations(0, raw, (size_t)sz, sz > 100000 ? 5 : 200);
        free(raw);
        fclose(f);
        runs++;
    }
    closedir(d);
    printf("mail fuzz regression: %zu seeds run with mutations\n", runs);
    return runs > 20 ? 0 : 1;
}
#endif
