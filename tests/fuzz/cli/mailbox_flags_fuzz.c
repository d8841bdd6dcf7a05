/* Fuzz target for the `helpdesk mailbox` flag values (clients/cli/mailbox_flags.c): the
 * password file a user points --password-file at (outside input: any bytes), and the
 * duration, size and on/off words typed on the command line. Built with libFuzzer
 * (-fsanitize=fuzzer), or with HD_FUZZ_DRIVER as a plain test running seeds and bounded
 * mutations (tests/fuzz/corpus.h). Checks: no crash; an accepted secret is the input's
 * first line, at most HD_CLI_SECRET_MAX bytes, free of control characters; an accepted
 * duration or size is within its bound and reads back the same from its decimal form. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clients/cli/mailbox_flags.h"
#include "tests/fuzz/corpus.h"

static void check_secret(const uint8_t *data, size_t size)
{
    char buf[HD_CLI_SECRET_MAX + 2];
    const char *why = NULL;
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f)
        return;
    int rc = hd_cli_read_secret(f, buf, sizeof(buf), &why);
    fclose(f);
    if (rc != 0) {
        CHECK(why != NULL);
        return;
    }
    size_t n = strlen(buf);
    CHECK(n > 0 && n <= HD_CLI_SECRET_MAX);
    CHECK(n <= size && memcmp(buf, data, n) == 0);
    CHECK(n == size || data[n] == '\n' || data[n] == '\r');
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
}

static void check_words(const char *s)
{
    uint64_t v = 0, back = 0;
    int b = -1;
    if (hd_cli_parse_seconds(s, UINT32_MAX, &v) == 0) {
        char num[32];
        CHECK(v <= UINT32_MAX);
        snprintf(num, sizeof(num), "%" PRIu64, v);
        CHECK(hd_cli_parse_seconds(num, UINT32_MAX, &back) == 0 && back == v);
    }
    if (hd_cli_parse_bytes(s, &v) == 0) {
        char num[32];
        CHECK(v <= (UINT64_C(1) << 53));
        snprintf(num, sizeof(num), "%" PRIu64, v);
        CHECK(hd_cli_parse_bytes(num, &back) == 0 && back == v);
    }
    if (hd_cli_parse_onoff(s, &b) == 0)
        CHECK(b == 0 || b == 1);
    (void)hd_cli_mailbox_field_of(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_secret(data, size);
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    check_words(s);
    free(s);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
int main(void)
{
    static const char *const seeds[] = {
        "s3cret\n", "pass word\r\nsecond\n",
        "\n",       "a\rb",
        "90",       "15m",
        "7d",       "4294967295",
        "25MiB",    "512K",
        "1gb",      "on",
        "False",    "reopen-grace",
        "-1",
    };
    uint64_t state = 0x9e3779b97f4a7c15ull;
    size_t runs = 0;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
        runs += hd_fuzz_run_mutations((const uint8_t *)seeds[i], strlen(seeds[i]), 2000, &state);
    printf("mailbox_flags_fuzz_regress: %zu inputs\n", runs);
    return runs ? 0 : 1;
}
#endif
