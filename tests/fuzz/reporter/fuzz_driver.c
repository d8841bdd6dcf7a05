/* Seeded mutation loop for running libFuzzer targets as plain tests (string seeds). */
#include "tests/fuzz/reporter/fuzz_driver.h"

#include <string.h>

size_t hd_fuzz_drive(const char *const *seeds, size_t n_seeds, int mutations_per_seed)
{
    uint64_t x = 88172645463325252ull;
    size_t runs = 0;
    for (size_t s = 0; s < n_seeds; s++)
        runs += hd_fuzz_run_mutations((const uint8_t *)seeds[s], strlen(seeds[s]),
                                      mutations_per_seed, &x);
    return runs;
}
