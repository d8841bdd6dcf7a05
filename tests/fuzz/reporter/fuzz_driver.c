/* Seeded mutation loop for running libFuzzer targets as plain tests. */
#include "tests/fuzz/reporter/fuzz_driver.h"

#include <string.h>

#define DRIVE_MAX 8192

size_t hd_fuzz_drive(const char *const *seeds, size_t n_seeds, int mutations_per_seed)
{
    static uint8_t m[DRIVE_MAX];
    uint64_t x = 88172645463325252ull;
    size_t runs = 0;
    for (size_t s = 0; s < n_seeds; s++) {
        size_t n = strlen(seeds[s]);
        if (n > DRIVE_MAX)
            n = DRIVE_MAX;
        LLVMFuzzerTestOneInput((const uint8_t *)seeds[s], n);
        runs++;
        for (int i = 0; i < mutations_per_seed && n; i++) {
            size_t len = n;
            memcpy(m, seeds[s], n);
            for (int k = 0; k < 1 + i % 4; k++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                size_t pos = (size_t)(x % len);
                switch ((x >> 32) % 4) {
                case 0:
                    m[pos] = (uint8_t)(x >> 40);
                    break;
                case 1:
                    m[pos] ^= (uint8_t)(1u << ((x >> 40) % 8));
                    break;
                case 2:
                    len = pos + 1;
                    break;
                default: {
                    size_t from = (size_t)((x >> 20) % len);
                    size_t k2 = len - (pos > from ? pos : from);
                    memmove(m + pos, m + from, k2 < 16 ? k2 : 16);
                    break;
                }
                }
            }
            LLVMFuzzerTestOneInput(m, len);
            runs++;
        }
    }
    return runs;
}
