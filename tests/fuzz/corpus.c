/* Corpus replay and seeded mutation loop for running libFuzzer targets as plain tests. */
#include "tests/fuzz/corpus.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

size_t hd_fuzz_run_mutations(const uint8_t *data, size_t n, int mutations, uint64_t *state)
{
    static uint8_t m[HD_FUZZ_INPUT_MAX];
    size_t runs = 1;
    if (n > HD_FUZZ_INPUT_MAX)
        n = HD_FUZZ_INPUT_MAX;
    memcpy(m, data, n);
    LLVMFuzzerTestOneInput(m, n); /* a copy: the target may not rely on the seed's storage */
    for (int i = 0; i < mutations && n; i++) {
        size_t len = n;
        memcpy(m, data, n);
        for (int k = 0; k < 1 + i % 4; k++) {
            uint64_t x = next(state);
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
                size_t room = len - (pos > from ? pos : from);
                memmove(m + pos, m + from, room < 16 ? room : 16);
                break;
            }
            }
        }
        LLVMFuzzerTestOneInput(m, len);
        runs++;
    }
    return runs;
}

size_t hd_fuzz_corpus_replay(const char *dir, int mutations)
{
    static uint8_t buf[HD_FUZZ_INPUT_MAX];
    uint64_t state = 88172645463325252ull;
    size_t runs = 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "fuzz corpus %s: cannot open\n", dir);
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        if (e->d_name[0] == '.' ||
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        runs += hd_fuzz_run_mutations(buf, n, mutations, &state);
    }
    closedir(d);
    return runs;
}
