/* Fuzz target for the TZif and POSIX TZ rule parsers (outside input: files in a zoneinfo dir
 * anyone may point TZDIR at). Whatever parses must answer conversions without crashing, and
 * local->UTC->local must land on a real instant. Built as a libFuzzer target with clang
 * (-fsanitize=fuzzer), or with HD_FUZZ_DRIVER as a plain test that runs the system's zones as
 * seeds and a bounded number of pseudo-random mutations of them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/common/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const hd_tz *tz)
{
    static const int64_t probes[] = {-5000000000LL, -1, 0, 1e9, 1774746000, 4102444800LL, 1e11};
    hd_err err;
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        hd_tz_civil c;
        int64_t back = 0;
        hd_tz_to_local(tz, probes[i], &c);
        if (hd_tz_from_local(tz, &c, HD_TZ_EARLIER, &back, &err) == 0) {
            hd_tz_civil c2;
            hd_tz_to_local(tz, back, &c2);
            (void)c2;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hd_tz *tz = NULL;
    hd_err err;
    if (hd_tz_parse(&tz, "fuzz", data, size, &err) == 0) {
        exercise(tz);
        hd_tz_free(tz);
    }
    if (size < 200) {
        char rule[256];
        memcpy(rule, data, size);
        rule[size] = '\0';
        if (hd_tz_parse_posix(&tz, rule, &err) == 0) {
            exercise(tz);
            hd_tz_free(tz);
        }
    }
    return 0;
}

#ifdef HD_FUZZ_DRIVER
static size_t read_zone(const char *name, uint8_t *buf, size_t cap)
{
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* Regression driver: system zones and rule strings as seeds, then byte mutations. */
int main(void)
{
    static const char *const seeds[] = {"Europe/London",   "America/New_York", "Australia/Sydney",
                                        "Pacific/Chatham", "Asia/Kolkata",     "UTC"};
    static const char *const rules[] = {"EST5EDT,M3.2.0,M11.1.0",
                                        "<+03>-3",
                                        "UTC0",
                                        "AEST-10AEDT,M10.1.0,M4.1.0/3",
                                        "XXX3YYY,J1/0,J365/25",
                                        "EST5EDT,0/0,J365/25"};
    static uint8_t buf[65536], mut[65536];
    uint64_t x = 88172645463325252ull;
    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++)
        LLVMFuzzerTestOneInput((const uint8_t *)rules[r], strlen(rules[r]));
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t n = read_zone(seeds[s], buf, sizeof(buf));
        if (n == 0) {
            fprintf(stderr, "missing zone %s (install tzdata)\n", seeds[s]);
            return 1;
        }
        LLVMFuzzerTestOneInput(buf, n);
        for (int i = 0; i < 3000; i++) {
            memcpy(mut, buf, n);
            size_t m = n;
            int k = 1 + (int)(x % 8);
            for (int j = 0; j < k; j++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                mut[x % m] = (uint8_t)(x >> 32);
            }
            if (x % 5 == 0)
                m = (size_t)(x >> 40) % n;
            LLVMFuzzerTestOneInput(mut, m);
        }
    }
    puts("tzif fuzz regression: ok");
    return 0;
}
#endif
