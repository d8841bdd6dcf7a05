/* Fuzz target for the CLI's INI config parser (clients/cli/config.c), which reads a file
 * a user (or anyone who can write their home directory) controls. Built with libFuzzer
 * (-fsanitize=fuzzer), or with HD_FUZZ_DRIVER as a plain test that runs seed files and a
 * bounded number of pseudo-random mutations of them. Checks: no crash, no leak, and every
 * accepted config survives save + load unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clients/cli/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* A parsed config written out and read back must be the same config. */
static void round_trip(const hd_cli_config *cfg)
{
    char path[] = "/tmp/hd-config-fuzz-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    close(fd);
    hd_err err;
    hd_cli_config back;
    memset(&back, 0, sizeof(back));
    if (hd_cli_config_save(cfg, path, &err) == HD_OK) {
        if (hd_cli_config_load(&back, path, &err) != HD_OK)
            abort();
        if (!same(cfg->server, back.server) || !same(cfg->token, back.token) ||
            !same(cfg->ca, back.ca) || !same(cfg->user, back.user))
            abort();
        if (cfg->staff_id != back.staff_id || cfg->token_id != back.token_id ||
            cfg->tls != back.tls)
            abort();
    }
    hd_cli_config_clear(&back);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_cli_config cfg;
    hd_err err;
    memset(&cfg, 0, sizeof(cfg));
    if (hd_cli_config_parse(&cfg, (const char *)data, size, &err) == HD_OK)
        round_trip(&cfg);
    hd_cli_config_clear(&cfg);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
/* Regression driver: hand-written seeds, then byte mutations (fixed seed, bounded). */
int main(void)
{
    static const char *const seeds[] = {
        "[default]\nserver = 127.0.0.1:7070\ntoken = hd_abc\ntls = true\nca = /x.pem\n",
        "# c\n; c\nserver=h:1\n[other]\ntoken = nope\n[default]\nstaff_id = 7\ntoken_id=9\n",
        "\xef\xbb\xbfserver = \"quoted value\"\r\nuser = 'a@b.c'\r\n",
        "[\n",
        "=x\n",
        "tls = maybe\n",
        "staff_id = 99999999999999999999\n",
        "key\n",
        "[default]\nserver = a\0b\n",
    };
    uint64_t s = 0x243f6a8885a308d3ull;
    uint8_t buf[512];
    size_t runs = 0;
    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        size_t n =
            strlen(seeds[i]) + (i == 8 ? 3 : 0); /* the last seed goes on past its NUL: "\0b\n" */
        memcpy(buf, seeds[i], n);
        LLVMFuzzerTestOneInput(buf, n);
        runs++;
        for (int m = 0; m < 3000; m++) {
            size_t len = n;
            memcpy(buf, seeds[i], n);
            for (int k = 0; k < 4; k++) {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                size_t pos = (size_t)(s % (len + 1));
                switch ((s >> 32) % 4) {
                case 0: /* flip a byte */
                    if (len)
                        buf[pos % len] ^= (uint8_t)(s >> 40);
                    break;
                case 1: /* insert a structural byte */
                    if (len < sizeof(buf) - 1) {
                        static const char marks[] = "[]=\n#;\"' \r\t\0";
                        memmove(buf + pos + 1, buf + pos, len - pos);
                        buf[pos] = (uint8_t)marks[(s >> 48) % (sizeof(marks) - 1)];
                        len++;
                    }
                    break;
                case 2: /* truncate */
                    len = pos;
                    break;
                default: /* duplicate the head */
                    if (len * 2 < sizeof(buf)) {
                        memcpy(buf + len, buf, len);
                        len *= 2;
                    }
                }
            }
            LLVMFuzzerTestOneInput(buf, len);
            runs++;
        }
    }
    printf("config_fuzz_regress: %zu inputs\n", runs);
    return 0;
}
#endif
