/* IMAP response parser over canned server transcripts (Dovecot's wording), each fed whole,
 * split at every byte boundary, and one byte at a time: the responses must come out the
 * same however the bytes arrive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/mail/imap_proto.h"

/* A flattened, comparable summary of one response. */
static void summarise(const hd_imap_resp *r, char *out, size_t cap)
{
    snprintf(out, cap, "k%d t%.*s s%d d%d n%u v%d:%u x%d:%u u%d:%u z%d:%llu f%d:%d b%d:%.*s|%.*s",
             (int)r->kind, (int)r->tag_len, r->tag ? r->tag : "", (int)r->status, (int)r->data,
             r->number, r->has_uidvalidity, r->uidvalidity, r->has_uidnext, r->uidnext, r->has_uid,
             r->uid, r->has_size, (unsigned long long)r->size, r->has_flags, r->seen, r->has_body,
             (int)r->body_len, r->body ? r->body : "", (int)r->text_len, r->text ? r->text : "");
}

/* Feeds t in pieces [0,a) [a,b) [b,n) and collects the summaries joined by newlines. */
static int run_split(const char *t, size_t n, size_t a, size_t b, char *out, size_t cap)
{
    hd_imap_proto *p = hd_imap_proto_new(0);
    hd_imap_resp r;
    hd_err err;
    size_t cuts[3] = {a, b, n}, at = 0, used = 0;
    int rc = 0;
    assert_non_null(p);
    out[0] = '\0';
    for (int i = 0; i < 3 && rc >= 0; i++) {
        assert_int_equal(hd_imap_proto_feed(p, t + at, cuts[i] - at, &err), 0);
        at = cuts[i];
        while ((rc = hd_imap_proto_next(p, &r, &err)) == 1) {
            char one[2048];
            summarise(&r, one, sizeof one);
            used += (size_t)snprintf(out + used, cap - used, "%s\n", one);
            assert_true(used < cap);
        }
    }
    if (rc == 0 && hd_imap_proto_pending(p))
        rc = 2; /* leftover partial response */
    hd_imap_proto_free(p);
    return rc;
}

/* Every split point (and pair of split points for short transcripts) gives the same result
 * as the whole transcript at once. */
static void assert_split_invariant(const char *t)
{
    size_t n = strlen(t);
    static char whole[65536], part[65536];
    int rc = run_split(t, n, n, n, whole, sizeof whole);
    for (size_t a = 0; a <= n; a++) {
        size_t bstep = n < 300 ? 1 : n;
        for (size_t b = a; b <= n; b += bstep) {
            assert_int_equal(run_split(t, n, a, b, part, sizeof part), rc);
            assert_string_equal(part, whole);
        }
    }
    /* one byte at a time */
    hd_imap_proto *p = hd_imap_proto_new(0);
    hd_imap_resp r;
    hd_err err;
    size_t used = 0;
    part[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int x;
        assert_int_equal(hd_imap_proto_feed(p, t + i, 1, &err), 0);
        while ((x = hd_imap_proto_next(p, &r, &err)) == 1) {
            char one[2048];
            summarise(&r, one, sizeof one);
            used += (size_t)snprintf(part + used, sizeof part - used, "%s\n", one);
        }
        if (x < 0)
            break;
    }
    assert_string_equal(part, whole);
    hd_imap_proto_free(p);
}

/* Collects the responses of a whole transcript into rs (at most max). */
static size_t parse_all(const char *t, hd_imap_proto **pp, hd_imap_resp *rs, size_t max, int *rc)
{
    hd_err err;
    size_t n = 0;
    *pp = hd_imap_proto_new(0);
    assert_non_null(*pp);
    assert_int_equal(hd_imap_proto_feed(*pp, t, strlen(t), &err), 0);
    while (n < max && (*rc = hd_imap_proto_next(*pp, &rs[n], &err)) == 1)
        n++;
    return n;
}

static const char select_transcript[] =
    "* OK [CAPABILITY IMAP4rev1 LITERAL+ UIDPLUS MOVE] Dovecot ready.\r\n"
    "A1 OK [CAPABILITY IMAP4rev1 MOVE] Logged in\r\n"
    "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted.\r\n"
    "* 10000 EXISTS\r\n"
    "* 0 RECENT\r\n"
    "* OK [UIDVALIDITY 1732500000] UIDs valid\r\n"
    "* OK [UIDNEXT 10001] Predicted next UID\r\n"
    "A2 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n";

static void select_reply_gives_uidvalidity_exists_and_uidnext(void **state)
{
    (void)state;
    hd_imap_proto *p;
    hd_imap_resp r[16];
    int rc = 0;
    size_t n = parse_all(select_transcript, &p, r, 16, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 9);
    assert_int_equal(r[0].kind, HD_IMAP_UNTAGGED);
    assert_int_equal(r[0].status, HD_IMAP_OK);
    assert_int_equal(r[1].kind, HD_IMAP_TAGGED);
    assert_int_equal(r[1].tag_len, 2);
    assert_memory_equal(r[1].tag, "A1", 2);
    assert_int_equal(r[2].data, HD_IMAP_DATA_OTHER);
    assert_int_equal(r[4].data, HD_IMAP_DATA_EXISTS);
    assert_int_equal(r[4].number, 10000);
    assert_int_equal(r[5].data, HD_IMAP_DATA_RECENT);
    assert_true(r[6].has_uidvalidity);
    assert_int_equal(r[6].uidvalidity, 1732500000u);
    assert_int_equal(r[6].text_len, strlen("UIDs valid"));
    assert_true(r[7].has_uidnext);
    assert_int_equal(r[7].uidnext, 10001);
    assert_int_equal(r[8].status, HD_IMAP_OK);
    hd_imap_proto_free(p);
    assert_split_invariant(select_transcript);
}

static const char sizes_transcript[] = "* 1 FETCH (UID 7 RFC822.SIZE 1834)\r\n"
                                       "* 2 FETCH (RFC822.SIZE 99999999999 UID 8)\r\n"
                                       "* 3 FETCH (UID 9 RFC822.SIZE 0 FLAGS (\\Seen $Junk))\r\n"
                                       "A3 OK Fetch completed.\r\n";

static void fetch_sizes_in_any_order_with_flags(void **state)
{
    (void)state;
    hd_imap_proto *p;
    hd_imap_resp r[8];
    int rc = 0;
    size_t n = parse_all(sizes_transcript, &p, r, 8, &rc);
    assert_int_equal(n, 4);
    assert_int_equal(r[0].data, HD_IMAP_DATA_FETCH);
    assert_int_equal(r[0].uid, 7);
    assert_int_equal(r[0].size, 1834);
    assert_false(r[0].has_flags);
    assert_int_equal(r[1].uid, 8);
    assert_true(r[1].size == 99999999999ull);
    assert_true(r[2].has_flags);
    assert_true(r[2].seen);
    assert_int_equal(r[2].size, 0);
    assert_true(r[2].has_size);
    hd_imap_proto_free(p);
    assert_split_invariant(sizes_transcript);
}

static const char bodies_transcript[] =
    "* 1 FETCH (UID 7 BODY[] {28}\r\n"
    "Subject: a\r\n\r\nhello\r\n) {3}\r\n"
    ")\r\n"
    "* 2 FETCH (UID 8 FLAGS (\\Recent) BODY[] {0}\r\n"
    ")\r\n"
    "* 3 FETCH (BODY[] {5+}\r\n"
    "ab\r\nc UID 9)\r\n"
    "* 4 FETCH (UID 10 BODY[] \"quoted \\\" body\")\r\n"
    "* 5 FETCH (UID 11 BODY[] NIL)\r\n"
    "* 6 FETCH (UID 12 BODY[HEADER.FIELDS (SUBJECT FROM)] {4}\r\n"
    "x\r\n\n BODY[]<0> {2}\r\nok)\r\n"
    "A4 OK Fetch completed.\r\n";

static void fetch_bodies_as_literals_quoted_and_nil(void **state)
{
    (void)state;
    hd_imap_proto *p;
    hd_imap_resp r[8];
    int rc = 0;
    size_t n = parse_all(bodies_transcript, &p, r, 8, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(n, 7);
    /* the first literal holds a ") {3}" look-alike that must stay body text */
    assert_int_equal(r[0].uid, 7);
    assert_true(r[0].has_body);
    assert_int_equal(r[0].body_len, 28);
    assert_memory_equal(r[0].body, "Subject: a\r\n\r\nhello\r\n) {3}\r\n", 28);
    assert_int_equal(r[1].uid, 8);
    assert_int_equal(r[1].body_len, 0);
    assert_false(r[1].seen);
    assert_int_equal(r[2].uid, 9);
    assert_int_equal(r[2].body_len, 5);
    assert_memory_equal(r[2].body, "ab\r\nc", 5);
    assert_int_equal(r[3].uid, 10);
    assert_int_equal(r[3].body_len, strlen("quoted \\\" body"));
    assert_int_equal(r[4].uid, 11);
    assert_true(r[4].has_body);
    assert_null(r[4].body);
    assert_int_equal(r[5].uid, 12);
    assert_false(r[5].has_body); /* BODY[HEADER...] and BODY[]<0> partials are not BODY[] */
    assert_int_equal(r[6].kind, HD_IMAP_TAGGED);
    hd_imap_proto_free(p);
    assert_split_invariant(bodies_transcript);
}

static void continuation_and_tagged_no_and_bad(void **state)
{
    (void)state;
    static const char t[] = "+ Ready for literal data\r\n"
                            "+\r\n"
                            "A5 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
                            "A6 BAD Error in IMAP command UID: Invalid arguments.\r\n"
                            "* BYE Server shutting down.\r\n";
    hd_imap_proto *p;
    hd_imap_resp r[8];
    int rc = 0;
    size_t n = parse_all(t, &p, r, 8, &rc);
    assert_int_equal(n, 5);
    assert_int_equal(r[0].kind, HD_IMAP_CONTINUE);
    assert_int_equal(r[0].text_len, strlen("Ready for literal data"));
    assert_int_equal(r[1].kind, HD_IMAP_CONTINUE);
    assert_int_equal(r[2].status, HD_IMAP_NO);
    assert_int_equal(r[2].text_len, strlen("Authentication failed."));
    assert_int_equal(r[3].status, HD_IMAP_BAD);
    assert_int_equal(r[4].status, HD_IMAP_BYE);
    hd_imap_proto_free(p);
    assert_split_invariant(t);
}

/* 100 messages of 2 KB each in one FETCH stream (the batch the poller asks for), which
 * libcurl 7.88's IMAP layer could not read past ~1 KB. */
static void batch_of_hundred_bodies_streams_through(void **state)
{
    (void)state;
    size_t cap = 100 * 2200 + 64, len = 0;
    char *t = malloc(cap);
    char body[2048];
    assert_non_null(t);
    memset(body, 'x', sizeof body);
    for (int i = 0; i < 100; i++) {
        len += (size_t)snprintf(t + len, cap - len, "* %d FETCH (UID %d BODY[] {%zu}\r\n", i + 1,
                                1000 + i, sizeof body);
        memcpy(t + len, body, sizeof body);
        len += sizeof body;
        len += (size_t)snprintf(t + len, cap - len, ")\r\n");
    }
    len += (size_t)snprintf(t + len, cap - len, "A7 OK done\r\n");
    hd_imap_proto *p = hd_imap_proto_new(0);
    hd_imap_resp r;
    hd_err err;
    int got = 0, rc;
    for (size_t at = 0; at < len; at += 1000) {
        size_t k = len - at < 1000 ? len - at : 1000;
        assert_int_equal(hd_imap_proto_feed(p, t + at, k, &err), 0);
        while ((rc = hd_imap_proto_next(p, &r, &err)) == 1) {
            if (r.data == HD_IMAP_DATA_FETCH) {
                assert_int_equal(r.uid, 1000 + got);
                assert_int_equal(r.body_len, sizeof body);
                got++;
            }
        }
        assert_int_equal(rc, 0);
    }
    assert_int_equal(got, 100);
    assert_int_equal(hd_imap_proto_pending(p), 0);
    hd_imap_proto_free(p);
    free(t);
}

static void oversize_response_is_refused_before_it_is_buffered(void **state)
{
    (void)state;
    hd_imap_proto *p = hd_imap_proto_new(1024);
    hd_imap_resp r;
    hd_err err;
    static const char t[] = "* 1 FETCH (UID 1 BODY[] {5000}\r\n";
    assert_int_equal(hd_imap_proto_feed(p, t, strlen(t), &err), 0);
    assert_int_equal(hd_imap_proto_next(p, &r, &err), HD_ETOOBIG);
    assert_int_equal(hd_imap_proto_next(p, &r, &err), HD_ETOOBIG); /* sticky */
    hd_imap_proto_free(p);

    char line[1100];
    memset(line, 'a', sizeof line);
    p = hd_imap_proto_new(1024);
    assert_int_equal(hd_imap_proto_feed(p, line, sizeof line, &err), 0);
    assert_int_equal(hd_imap_proto_next(p, &r, &err), HD_ETOOBIG);
    hd_imap_proto_free(p);
}

static void malformed_responses_are_protocol_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "* 1 FETCH (UID x)\r\n",
        "* 1 FETCH (UID 4294967296)\r\n",
        "* 1 FETCH UID 1\r\n",
        "* 1 FETCH (UID 1\r\n",
        "* OK [UIDVALIDITY abc] x\r\n",
        "* OK [UIDVALIDITY 1\r\n",
        "A1 MAYBE done\r\n",
        "*\r\n",
        "* 1 FETCH (BODY[] \"unterminated)\r\n",
        "* 1 FETCH (BODY[ {1}\r\nx)\r\n",
        "* 1 FETCH (X "
        "(((((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))))))\r\n",
        "* 1 FETCH (BODY[] {99999999999999999999999}\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hd_imap_proto *p;
        hd_imap_resp r[2];
        int rc = 0;
        size_t n = parse_all(bad[i], &p, r, 2, &rc);
        if (n != 0 || rc != HD_ECORRUPT)
            fail_msg("input %zu (%s): n=%zu rc=%d, want a protocol error", i, bad[i], n, rc);
        hd_imap_proto_free(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_reply_gives_uidvalidity_exists_and_uidnext),
        cmocka_unit_test(fetch_sizes_in_any_order_with_flags),
        cmocka_unit_test(fetch_bodies_as_literals_quoted_and_nil),
        cmocka_unit_test(continuation_and_tagged_no_and_bad),
        cmocka_unit_test(batch_of_hundred_bodies_streams_through),
        cmocka_unit_test(oversize_response_is_refused_before_it_is_buffered),
        cmocka_unit_test(malformed_responses_are_protocol_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
