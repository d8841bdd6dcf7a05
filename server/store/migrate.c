/* Schema migrations: ordered steps from one version to the next, run at open inside the
 * same write transaction that opens the tables, so a store is either fully migrated or
 * untouched. Each step is recorded in the meta table (a count of steps run). */
#include "server/store/internal.h"

#include <stdlib.h>
#include <string.h>

#include "server/common/log.h"

typedef struct mig_step {
    uint32_t to;      /* version after the step */
    const char *what; /* for logs */
    int (*run)(hd_txn *t, hd_err *err);
} mig_step;

typedef struct seq_fix {
    hd_txn *t;
    int rc;
    hd_err *err;
} seq_fix;

/* Version 1 stored sequence values as decimal text; version 2 stores 8-byte big-endian
 * integers (fixed size, no parsing on the hot path of ticket creation). */
static int seq_text_to_be(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    seq_fix *f = arg;
    char text[24];
    if (vlen == 0 || vlen >= sizeof(text)) {
        f->rc = hd_err_set(f->err, HD_ECORRUPT, "seq value of %zu bytes is not a v1 counter", vlen);
        return f->rc;
    }
    memcpy(text, val, vlen);
    text[vlen] = '\0';
    char *end = NULL;
    unsigned long long n = strtoull(text, &end, 10);
    if (!end || *end != '\0') {
        f->rc = hd_err_set(f->err, HD_ECORRUPT, "seq value '%s' is not a decimal counter", text);
        return f->rc;
    }
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(n >> (56 - 8 * i));
    /* Overwriting the current key's value in place is safe for an LMDB cursor walk. */
    hd_key k;
    hd_key_init(&k);
    hd_key_bytes(&k, key, klen);
    f->rc = hd_store_put(f->t, HD_STORE_SEQ, &k, b, 8, 0, f->err);
    return f->rc;
}

static int step_seq_be(hd_txn *t, hd_err *err)
{
    seq_fix f = {t, 0, err};
    int64_t n = hd_store_scan(t, HD_STORE_SEQ, NULL, seq_text_to_be, &f, err);
    return n < 0 ? (int)n : 0;
}

static const mig_step steps[] = {
    {2, "seq values: decimal text -> 8-byte big-endian", step_seq_be},
};

static int put_u32(hd_txn *t, const char *name, uint32_t v, hd_err *err)
{
    hd_key k;
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    hd_key_init(&k);
    hd_key_str(&k, name);
    return hd_store_put(t, HD_STORE_META, &k, b, 4, 0, err);
}

static int bump_steps_run(hd_txn *t, hd_err *err)
{
    hd_key k;
    const void *val;
    size_t len;
    uint32_t n = 0;
    hd_key_init(&k);
    hd_key_str(&k, HD_STORE__META_STEPS);
    int rc = hd_store_get(t, HD_STORE_META, &k, &val, &len, err);
    if (rc == 0 && len == 4) {
        const unsigned char *b = val;
        n = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    } else if (rc && rc != HD_ENOTFOUND) {
        return rc;
    }
    hd_err_clear(err);
    return put_u32(t, HD_STORE__META_STEPS, n + 1, err);
}

int hd_store__migrate(hd_txn *t, uint32_t from, hd_err *err)
{
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i].to <= from)
            continue;
        int rc = steps[i].run(t, err);
        if (rc == 0)
            rc = bump_steps_run(t, err);
        if (rc == 0)
            rc = put_u32(t, HD_STORE__META_VERSION, steps[i].to, err);
        if (rc)
            return rc;
        hd_log(HD_LOG_INFO, "store_migration_step", "to=%u what=\"%s\"", steps[i].to,
               steps[i].what);
    }
    return 0;
}
