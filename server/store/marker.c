/* "Done once" markers in SETTINGS (see store.h): name -> 4-byte big-endian version. */
#include <string.h>

#include "server/store/store.h"

static hd_key *marker_key(hd_key *k, const char *name)
{
    hd_key_init(k);
    return hd_key_str(k, name);
}

int hd_store_marker_get(hd_txn *txn, const char *name, uint32_t *version, hd_err *err)
{
    const void *val;
    size_t len;
    hd_key k;
    int rc = hd_store_get(txn, HD_STORE_SETTINGS, marker_key(&k, name), &val, &len, err);
    *version = 0;
    if (rc == HD_ENOTFOUND) {
        hd_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (len == 4) {
        const unsigned char *b = val;
        *version = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    }
    return 0;
}

int hd_store_marker_set(hd_txn *txn, const char *name, uint32_t version, hd_err *err)
{
    unsigned char b[4] = {(unsigned char)(version >> 24), (unsigned char)(version >> 16),
                          (unsigned char)(version >> 8), (unsigned char)version};
    hd_key k;
    return hd_store_put(txn, HD_STORE_SETTINGS, marker_key(&k, name), b, sizeof(b), 0, err);
}
