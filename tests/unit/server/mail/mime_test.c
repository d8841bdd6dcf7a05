/* MIME parsing, quoted-history separation, HTML conversion and loop classification over
 * the corpus (tests/data/mail) and small inline cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/common/arena.h"
#include "server/mail/loop.h"
#include "server/mail/mime.h"
#include "tests/unit/server/mail/corpus.h"

static hd_mime_msg *parse_file(hd_arena *a, const char *file, const hd_mime_limits *lim)
{
    static const tc_subst subst[] = {{"TICKET", "TKT-000001"},
                                     {"OWNID", "hd.t1.1.0123456789abcdef@helpdesk.test"},
                                     {"OWNID2", "hd.t1.2.0123456789abcdef@helpdesk.test"},
                                     {"TOKENLOCAL", "t1.0123456789abcdef"}};
    size_t len;
    char *raw = tc_read(file, subst, 4, &len);
    hd_mime_msg *m = NULL;
    hd_err err;
    int rc = hd_mime_parse(&m, a, raw, len, lim, &err);
    free(raw);
    if (rc != 0)
        fail_msg("%s: %s", file, err.detail);
    return m;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static void assert_lacks(const char *hay, const char *needle)
{
    if (strstr(hay, needle))
        fail_msg("did not expect \"%s\" in \"%s\"", needle, hay);
}

static void gmail_reply_prefers_plain_and_separates_quote(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "02_gmail_reply.eml", NULL);
    assert_string_equal(m->message_id, "CAgmail002@mail.gmail.com");
    assert_string_equal(m->in_reply_to, "hd.t1.1.0123456789abcdef@helpdesk.test");
    assert_int_equal(m->n_references, 2);
    assert_string_equal(m->references[0], "CAnew001@mail.gmail.com");
    assert_false(m->html_only);
    assert_string_equal(m->new_text, "Thanks, it is out now.");
    assert_contains(m->text, "Please unplug it.");
    hd_arena_destroy(a);
}

static void outlook_reply_windows1252_and_separator_block(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "03_outlook_reply.eml", NULL);
    assert_string_equal(m->from.addr, "bob@corp.example");
    assert_string_equal(m->from.name, "Bob Buyer");
    assert_contains(m->new_text, "colleague \xe2\x80\x93 same problem"); /* 0x96 = en dash */
    assert_lacks(m->new_text, "Please unplug");
    assert_contains(m->text, "Please unplug");
    hd_arena_destroy(a);
}

static void apple_reply_wrapped_attribution_is_history(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "04_apple_reply.eml", NULL);
    assert_string_equal(m->new_text, "It caught fire again.");
    hd_arena_destroy(a);
}

static void latin1_and_rfc2047_headers_become_utf8(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "15_latin1.eml", NULL);
    assert_string_equal(m->subject, "Probl\xc3\xa8me de facture");
    assert_string_equal(m->from.name, "Fran\xc3\xa7ois M\xc3\xbcller");
    assert_contains(m->text, "probl\xc3\xa8me");
    assert_contains(m->text, "Gr\xc3\xbc\xc3\x9f"
                             "e");
    hd_arena_destroy(a);
}

static void shift_jis_body_and_iso2022_subject_become_utf8(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "16_shift_jis.eml", NULL);
    /* こんにちは */
    assert_string_equal(m->subject, "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf");
    assert_contains(m->text, "\xe8\xab\x8b\xe6\xb1\x82\xe6\x9b\xb8"); /* 請求書 */
    hd_arena_destroy(a);
}

static void rfc2231_filename_and_sha256_of_attachment(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "17_rfc2047_subject_2231_filename.eml", NULL);
    assert_string_equal(m->subject, "Rechnung \xc3\xbc"
                                    "ber \xe2\x82\xac 100");
    assert_int_equal(m->n_attachments, 1);
    assert_string_equal(m->attachments[0].filename, "Rechnung \xc3\xbc"
                                                    "ber 100\xe2\x82\xac.pdf");
    assert_string_equal(m->attachments[0].content_type, "application/pdf");
    assert_int_equal(strlen(m->attachments[0].sha256), 64);
    assert_int_equal(m->attachments[0].size, 54);
    hd_arena_destroy(a);
}

static void html_only_is_converted_without_script_or_style(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "18_html_only.eml", NULL);
    assert_true(m->html_only);
    assert_contains(m->text, "Hello there,");
    assert_contains(m->text, "the <portal> is down & slow.");
    assert_lacks(m->text, "alert");
    assert_lacks(m->text, "color");
    hd_arena_destroy(a);
}

static void missing_message_id_gets_stable_synthetic_id(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m1 = parse_file(a, "19_no_message_id.eml", NULL);
    hd_mime_msg *m2 = parse_file(a, "19_no_message_id.eml", NULL);
    assert_true(m1->synthetic_id);
    assert_string_equal(m1->message_id, m2->message_id);
    assert_contains(m1->message_id, "@" HD_MIME_SYNTH_DOMAIN);
    hd_arena_destroy(a);
}

static void dsn_links_original_message_id_and_status(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "13_dsn_bounce.eml", NULL);
    assert_true(m->is_dsn);
    assert_string_equal(m->dsn_status, "5.1.1");
    assert_string_equal(m->dsn_action, "failed");
    assert_string_equal(m->dsn_recipient, "ann@customer.example");
    assert_string_equal(m->dsn_original_message_id, "hd.t1.1.0123456789abcdef@helpdesk.test");
    assert_int_equal(m->n_attachments, 0);
    hd_arena_destroy(a);
}

static void deep_nesting_stops_at_depth_limit(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "22_deep_nesting.eml", NULL);
    assert_true(m->truncated);
    assert_lacks(m->text, "hidden deep text");
    hd_mime_limits deep = {.depth_max = 64};
    m = parse_file(a, "22_deep_nesting.eml", &deep);
    assert_false(m->truncated);
    assert_contains(m->text, "hidden deep text");
    hd_arena_destroy(a);
}

static void many_parts_stop_at_part_and_attachment_limits(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "23_many_parts.eml", NULL);
    assert_true(m->truncated);
    assert_int_equal(m->n_attachments, HD_MIME_ATTACH_COUNT_DEFAULT);
    assert_true(m->dropped_attachments > 0);
    assert_contains(m->text, "many parts follow");
    hd_arena_destroy(a);
}

static void oversized_attachment_is_dropped_and_counted(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_limits lim = {.attach_bytes = 256 * 1024};
    hd_mime_msg *m = parse_file(a, "24_big_attachment.eml", &lim);
    assert_int_equal(m->n_attachments, 1);
    assert_string_equal(m->attachments[0].filename, "small.txt");
    assert_int_equal(m->dropped_attachments, 1);
    hd_arena_destroy(a);
}

static void forwarded_message_text_is_kept(void **state)
{
    (void)state;
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = parse_file(a, "06_forwarded.eml", NULL);
    assert_string_equal(m->new_text, "See below, can you help?");
    assert_contains(m->text, "Why is invoice 77 wrong?");
    hd_arena_destroy(a);
}

/* Loop classification, one row per corpus file. */
static void loop_classification_matches_table(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        hd_loop_kind kind;
    } rows[] = {
        {"01_new_plain.eml", HD_LOOP_HUMAN},      {"02_gmail_reply.eml", HD_LOOP_HUMAN},
        {"03_outlook_reply.eml", HD_LOOP_HUMAN},  {"11_auto_reply_ooo.eml", HD_LOOP_AUTO_REPLY},
        {"12_precedence_bulk.eml", HD_LOOP_BULK}, {"13_dsn_bounce.eml", HD_LOOP_BOUNCE},
        {"14_own_loop.eml", HD_LOOP_OWN},         {"21_mailer_daemon_no_dsn.eml", HD_LOOP_BOUNCE},
        {"15_latin1.eml", HD_LOOP_HUMAN},
    };
    hd_arena *a = hd_arena_create(0);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        hd_mime_msg *m = parse_file(a, rows[i].file, NULL);
        hd_loop_verdict v = hd_loop_classify(m, "helpdesk.test");
        hd_loop_kind want = rows[i].kind;
        if (v.kind != want)
            fail_msg("%s: got %s (%s), want %s", rows[i].file, hd_loop_kind_name(v.kind), v.reason,
                     hd_loop_kind_name(want));
        assert_int_equal(v.may_autoreply, want == HD_LOOP_HUMAN);
    }
    hd_arena_destroy(a);
}

static void auto_submitted_no_is_human(void **state)
{
    (void)state;
    const char raw[] = "From: a@b.example\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nhi\r\n";
    hd_arena *a = hd_arena_create(0);
    hd_mime_msg *m = NULL;
    hd_err err;
    assert_int_equal(hd_mime_parse(&m, a, raw, sizeof raw - 1, NULL, &err), 0);
    assert_int_equal(hd_loop_classify(m, NULL).kind, HD_LOOP_HUMAN);
    hd_arena_destroy(a);
}

static void limiter_allows_max_per_window_per_sender(void **state)
{
    (void)state;
    hd_loop_limiter *l = hd_loop_limiter_new(3, 60000);
    for (int i = 0; i < 3; i++)
        assert_true(hd_loop_limiter_allow(l, "a@x.example", 1000 + i));
    assert_false(hd_loop_limiter_allow(l, "a@x.example", 2000));
    assert_true(hd_loop_limiter_allow(l, "b@x.example", 2000));
    assert_true(hd_loop_limiter_allow(l, "a@x.example", 61000));
    hd_loop_limiter_free(l);
}

static void quoted_history_rules(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } rows[] = {
        {"new\n\nOn Mon, 1 Jan 2026, X <x@y> wrote:\n> old\n", "new"},
        {"new\nOn Mon, 1 Jan 2026 at 10:00, Some Long Name <x@y>\nwrote:\n> old", "new"},
        {"new\n-----Original Message-----\nFrom: x\n", "new"},
        {"new\r\n\r\nFrom: Support\r\nSent: Monday\r\n", "new"},
        {"new\n> old\n> older\n", "new"},
        {"> only quote\n", "> only quote\n"},
        {"a\n> inline quote\nanswer\n", "a\n> inline quote\nanswer"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t n = hd_mime_new_text_len(rows[i].text, strlen(rows[i].text));
        if (n != strlen(rows[i].want) || memcmp(rows[i].text, rows[i].want, n) != 0)
            fail_msg("row %zu: got \"%.*s\", want \"%s\"", i, (int)n, rows[i].text, rows[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gmail_reply_prefers_plain_and_separates_quote),
        cmocka_unit_test(outlook_reply_windows1252_and_separator_block),
        cmocka_unit_test(apple_reply_wrapped_attribution_is_history),
        cmocka_unit_test(latin1_and_rfc2047_headers_become_utf8),
        cmocka_unit_test(shift_jis_body_and_iso2022_subject_become_utf8),
        cmocka_unit_test(rfc2231_filename_and_sha256_of_attachment),
        cmocka_unit_test(html_only_is_converted_without_script_or_style),
        cmocka_unit_test(missing_message_id_gets_stable_synthetic_id),
        cmocka_unit_test(dsn_links_original_message_id_and_status),
        cmocka_unit_test(deep_nesting_stops_at_depth_limit),
        cmocka_unit_test(many_parts_stop_at_part_and_attachment_limits),
        cmocka_unit_test(oversized_attachment_is_dropped_and_counted),
        cmocka_unit_test(forwarded_message_text_is_kept),
        cmocka_unit_test(loop_classification_matches_table),
        cmocka_unit_test(auto_submitted_no_is_human),
        cmocka_unit_test(limiter_allows_max_per_window_per_sender),
        cmocka_unit_test(quoted_history_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
