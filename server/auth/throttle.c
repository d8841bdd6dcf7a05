/* Failure counters live in SETTINGS under "login_fail" + kind ('a' account, 'p' peer) +
 * BLAKE2b-128 of the lower-cased name, so emails and addresses are not stored in clear.
 * Value: 4-byte big-endian count + 8-byte big-endian time of the last failure. */
#include "server/auth/throttle.h"

#include <ctype.h>
#include <string.h>

#include <sodium.h>

#include "server/store/key.h"

#define NAME_MAX_LEN 320
#define HASH_BYTES   16
#define VALUE_BYTES  12

typedef struct counter {
    uint32_t count;
    int64_t last_ms;
} counter;

static void counter_key(hd_key *k, char kind, const char *name)
{
    char low[NAME_MAX_LEN];
    size_t n = strlen(name);
    if (n > sizeof(low))
        n = sizeof(low);
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    unsigned char h[HASH_BYTES];
    crypto_generichash(h, sizeof(h), (const unsigned char *)low, n, NULL, 0);
    hd_key_init(k);
    hd_key_str(k, "login_fail");
    hd_key_u8(k, (uint8_t)kind);
    hd_key_bytes(k, h, sizeof(h));
}

/* Reads the counter; a missing or stale one (older than the window) reads as zero. */
static int counter_get(hd_txn *txn, const hd_key *k, int64_t now, counter *c, hd_err *err)
{
    memset(c, 0, sizeof(*c));
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_SETTINGS, k, &v, &n, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return HD_OK;
    }
    if (rc != HD_OK)
        return rc;
    if (n != VALUE_BYTES)
        return hd_err_set(err, HD_ECORRUPT, "settings: login_fail record of %zu bytes", n);
    const unsigned char *p = v;
    uint64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = t << 8 | p[4 + i];
    c->last_ms = (int64_t)t;
    if (now - c->last_ms < HD_THROTTLE_WINDOW_MS)
        c->count = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return HD_OK;
}

int64_t hd_throttle_delay_ms(uint32_t failures, uint32_t free)
{
    if (failures < free)
        return 0;
    uint32_t over = failures - free;
    if (over >= 20)
        return HD_THROTTLE_WINDOW_MS;
    int64_t d = 1000LL << over;
    return d < HD_THROTTLE_WINDOW_MS ? d : HD_THROTTLE_WINDOW_MS;
}

/* Milliseconds still owed at now for the counter under k. */
static int owed(hd_txn *txn, const hd_key *k, uint32_t free, int64_t now, int64_t *out, hd_err *err)
{
    counter c;
    int rc = counter_get(txn, k, now, &c, err);
    if (rc != HD_OK)
        return rc;
    int64_t left = c.last_ms + hd_throttle_delay_ms(c.count, free) - now;
    *out = c.count >= free && left > 0 ? left : 0;
    return HD_OK;
}

int hd_throttle_wait(hd_txn *txn, const char *email, const char *peer, int64_t now,
                     int64_t *wait_ms, hd_err *err)
{
    hd_key k;
    int64_t a = 0, p = 0;
    *wait_ms = 0;
    counter_key(&k, 'a', email ? email : "");
    int rc = owed(txn, &k, HD_THROTTLE_ACCOUNT_FREE, now, &a, err);
    if (rc == HD_OK && peer && *peer) {
        counter_key(&k, 'p', peer);
        rc = owed(txn, &k, HD_THROTTLE_PEER_FREE, now, &p, err);
    }
    if (rc == HD_OK)
        *wait_ms = a > p ? a : p;
    return rc;
}

static int bump(hd_txn *txn, char kind, const char *name, int64_t now, hd_err *err)
{
    hd_key k;
    counter_key(&k, kind, name);
    counter c;
    int rc = counter_get(txn, &k, now, &c, err);
    if (rc != HD_OK)
        return rc;
    uint32_t n = c.count == UINT32_MAX ? c.count : c.count + 1;
    unsigned char v[VALUE_BYTES];
    for (int i = 0; i < 4; i++)
        v[i] = (unsigned char)(n >> (24 - 8 * i));
    for (int i = 0; i < 8; i++)
        v[4 + i] = (unsigned char)((uint64_t)now >> (56 - 8 * i));
    return hd_store_put(txn, HD_STORE_SETTINGS, &k, v, sizeof(v), 0, err);
}

int hd_throttle_fail(hd_txn *txn, const char *email, const char *peer, int64_t now, hd_err *err)
{
    int rc = bump(txn, 'a', email ? email : "", now, err);
    if (rc == HD_OK && peer && *peer)
        rc = bump(txn, 'p', peer, now, err);
    return rc;
}

int hd_throttle_clear(hd_txn *txn, const char *email, hd_err *err)
{
    hd_key k;
    counter_key(&k, 'a', email ? email : "");
    int rc = hd_store_del(txn, HD_STORE_SETTINGS, &k, err);
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        rc = HD_OK;
    }
    return rc;
}
