/* Resolving @name against the staff records (see staff_mentions.h). Staff records live in
 * STAFF under the key tag 's' + u64 id (server/staff/staff.c hd_staff_key_id); other tags in
 * that table (credentials, groups, indexes) are skipped by the prefix. */
#include "server/tickets/staff_mentions.h"

#include <stdbool.h>
#include <string.h>

#include "helpdesk/v1/staff.pb-c.h"

#define STAFF_RECORD_TAG 's'

typedef struct finder {
    const char *name;
    size_t n;
    uint64_t found;
    hd_err *err;
} finder;

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Whether the n bytes of want equal s[0..len) ignoring case, spaces in s counting as '.'. */
static bool same(const char *want, size_t n, const char *s, size_t len)
{
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] == ' ' ? '.' : s[i];
        if (lower(c) != lower(want[i]))
            return false;
    }
    return true;
}

static bool mentioned(const finder *f, const Helpdesk__V1__Staff *s)
{
    const char *at = strchr(s->email, '@');
    const char *space = strchr(s->name, ' ');
    return (at && same(f->name, f->n, s->email, (size_t)(at - s->email))) ||
           same(f->name, f->n, s->name, strlen(s->name)) ||
           (space && same(f->name, f->n, s->name, (size_t)(space - s->name)));
}

static int staff_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    finder *f = arg;
    (void)key;
    (void)klen;
    Helpdesk__V1__Staff *s = helpdesk__v1__staff__unpack(NULL, vlen, val);
    if (!s)
        return hd_err_set(f->err, HD_ECORRUPT, "mentions: a staff record does not unpack");
    bool hit = s->active && mentioned(f, s);
    uint64_t id = s->id;
    helpdesk__v1__staff__free_unpacked(s, NULL);
    if (!hit)
        return 0;
    f->found = id;
    return 1; /* ids ascend in key order: the first hit is the lowest id */
}

int hd_tickets_staff_mention(void *ud, hd_txn *txn, const char *name, size_t n, uint64_t *staff_id,
                             hd_err *err)
{
    finder f = {.name = name, .n = n, .err = err};
    hd_key prefix;
    hd_store_range r = {0};
    (void)ud;
    hd_key_init(&prefix);
    hd_key_u8(&prefix, STAFF_RECORD_TAG);
    r.prefix = &prefix;
    int64_t rc = hd_store_scan(txn, HD_STORE_STAFF, &r, staff_cb, &f, err);
    if (rc < 0)
        return (int)rc;
    if (!f.found)
        return HD_ENOTFOUND;
    *staff_id = f.found;
    return 0;
}
