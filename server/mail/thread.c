/* Threading inbound mail to tickets (see thread.h). */
#include "server/mail/thread.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "helpdesk/v1/customers.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "server/mail/keys.h"
#include "server/tickets/tickets.h"

#define MAC_HEX 16 /* 8 bytes of HMAC-SHA256 */

const char *hd_thread_via_name(hd_thread_via v)
{
    switch (v) {
    case HD_THREAD_NONE:
        return "none";
    case HD_THREAD_OWN_ID:
        return "own_id";
    case HD_THREAD_MSGID_INDEX:
        return "msgid_index";
    case HD_THREAD_SUBJECT_TAG:
        return "subject_tag";
    case HD_THREAD_REPLY_TOKEN:
        return "reply_token";
    }
    return "?";
}

static void mac_hex(char out[MAC_HEX + 1], const hd_thread_conf *c, const char *msg)
{
    unsigned char h[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, c->key, sizeof c->key);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)msg, strlen(msg));
    crypto_auth_hmacsha256_final(&st, h);
    sodium_bin2hex(out, MAC_HEX + 1, h, MAC_HEX / 2);
}

static bool mac_ok(const hd_thread_conf *c, const char *msg, const char *mac, size_t n)
{
    char want[MAC_HEX + 1];
    if (n != MAC_HEX)
        return false;
    mac_hex(want, c, msg);
    return sodium_memcmp(want, mac, MAC_HEX) == 0;
}

int hd_thread_own_msgid(char *buf, size_t n, const hd_thread_conf *c, uint64_t ticket_id,
                        uint64_t nonce)
{
    char body[64], mac[MAC_HEX + 1];
    snprintf(body, sizeof body, "t%" PRIu64 ".%" PRIu64, ticket_id, nonce);
    mac_hex(mac, c, body);
    int w = snprintf(buf, n, "hd.%s.%s@%s", body, mac, c->msgid_domain ? c->msgid_domain : "");
    return w < 0 || (size_t)w >= n ? HD_EINVAL : HD_OK;
}

/* Parses "t<digits>" at p; returns the position after the digits or NULL. */
static const char *parse_t(const char *p, uint64_t *out)
{
    if (*p != 't')
        return NULL;
    p++;
    if (*p < '0' || *p > '9')
        return NULL;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        if (v > (UINT64_MAX - 9) / 10)
            return NULL;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *out = v;
    return p;
}

bool hd_thread_own_msgid_parse(const hd_thread_conf *c, const char *id, uint64_t *ticket_id)
{
    uint64_t t = 0, nonce = 0;
    if (strncmp(id, "hd.", 3) != 0)
        return false;
    const char *body = id + 3;
    const char *p = parse_t(body, &t);
    if (!p || *p != '.')
        return false;
    p++;
    const char *q = p;
    while (*q >= '0' && *q <= '9')
        q++;
    if (q == p || *q != '.')
        return false;
    nonce = strtoull(p, NULL, 10);
    (void)nonce;
    const char *mac = q + 1;
    const char *at = strchr(mac, '@');
    if (!at)
        return false;
    char msg[64];
    size_t bn = (size_t)(q - body);
    if (bn >= sizeof msg)
        return false;
    memcpy(msg, body, bn);
    msg[bn] = '\0';
    if (!mac_ok(c, msg, mac, (size_t)(at - mac)))
        return false;
    if (c->msgid_domain && *c->msgid_domain && strcasecmp(at + 1, c->msgid_domain) != 0)
        return false;
    *ticket_id = t;
    return true;
}

int hd_thread_reply_address(char *buf, size_t n, const hd_thread_conf *c, const char *support,
                            uint64_t ticket_id)
{
    const char *at = support ? strchr(support, '@') : NULL;
    if (!at)
        return HD_EINVAL;
    char body[32], mac[MAC_HEX + 1];
    snprintf(body, sizeof body, "t%" PRIu64, ticket_id);
    mac_hex(mac, c, body);
    int w = snprintf(buf, n, "%.*s+%s.%s%s", (int)(at - support), support, body, mac, at);
    return w < 0 || (size_t)w >= n ? HD_EINVAL : HD_OK;
}

bool hd_thread_reply_token_parse(const hd_thread_conf *c, const char *addr, uint64_t *ticket_id)
{
    const char *at = strrchr(addr, '@');
    const char *plus = strchr(addr, '+');
    if (!at || !plus || plus > at)
        return false;
    uint64_t t = 0;
    const char *p = parse_t(plus + 1, &t);
    if (!p || *p != '.')
        return false;
    char msg[32];
    size_t bn = (size_t)(p - plus - 1);
    if (bn >= sizeof msg)
        return false;
    memcpy(msg, plus + 1, bn);
    msg[bn] = '\0';
    if (!mac_ok(c, msg, p + 1, (size_t)(at - p - 1)))
        return false;
    *ticket_id = t;
    return true;
}

bool hd_thread_subject_number(const char *subject, char *buf, size_t n)
{
    for (const char *p = subject; (p = strcasestr(p, "TKT-")) != NULL; p += 4) {
        /* A word boundary before it, digits after. */
        if (p > subject && (p[-1] == '-' || (p[-1] >= '0' && p[-1] <= '9') ||
                            (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= 'a' && p[-1] <= 'z')))
            continue;
        const char *d = p + 4;
        uint64_t v = 0;
        int digits = 0;
        while (*d >= '0' && *d <= '9' && digits < 19) {
            v = v * 10 + (uint64_t)(*d - '0');
            d++;
            digits++;
        }
        if (digits == 0 || (*d >= '0' && *d <= '9') || v == 0)
            continue;
        hd_tickets_number(buf, n, v);
        return true;
    }
    return false;
}

int hd_thread_add_participant(hd_txn *txn, uint64_t ticket_id, const char *addr, hd_err *err)
{
    hd_key k;
    if (!addr || !*addr)
        return HD_OK;
    return hd_store_put(txn, HD_STORE_MAILSTATE, hd_mailkey_participant(&k, ticket_id, addr), "", 0,
                        0, err);
}

int hd_thread_index(hd_txn *txn, uint64_t ticket_id, const char *message_id, hd_err *err)
{
    hd_key k;
    unsigned char v[8];
    uint64_t seq = 0;
    for (int i = 0; i < 8; i++)
        v[i] = (unsigned char)(ticket_id >> (56 - 8 * i));
    int rc = hd_store_put(txn, HD_STORE_IDX_MSGID, hd_mailkey_msgid(&k, message_id), v, 8, 0, err);
    if (rc < 0)
        return rc;
    rc = hd_store_seq_next(txn, HD_MAILKEY_SEQ_THREAD, &seq, err);
    if (rc < 0)
        return rc;
    return hd_store_put(txn, HD_STORE_MAILSTATE, hd_mailkey_thread(&k, ticket_id, seq), message_id,
                        strlen(message_id), 0, err);
}

typedef struct ids_acc {
    hd_arena *a;
    const char **v;
    size_t n;
} ids_acc;

static int ids_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    ids_acc *acc = arg;
    acc->v[acc->n] = hd_arena_strndup(acc->a, val, vlen);
    if (!acc->v[acc->n])
        return HD_ENOMEM;
    acc->n++;
    return 0;
}

int hd_thread_ids(hd_txn *txn, hd_arena *a, uint64_t ticket_id, size_t max, const char ***out,
                  size_t *n, hd_err *err)
{
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_u64(hd_key_u8(&prefix, HD_MAILKEY_THREAD), ticket_id);
    ids_acc acc = {a, hd_arena_calloc(a, max ? max : 1, sizeof(char *)), 0};
    *out = NULL;
    *n = 0;
    if (!acc.v)
        return hd_err_set(err, HD_ENOMEM, "thread: out of memory");
    hd_store_range r = {.prefix = &prefix, .reverse = 1, .limit = max};
    int64_t rc = hd_store_scan(txn, HD_STORE_MAILSTATE, &r, ids_cb, &acc, err);
    if (rc < 0)
        return (int)rc;
    /* Scanned newest first: reverse into oldest first. */
    for (size_t i = 0; i < acc.n / 2; i++) {
        const char *t = acc.v[i];
        acc.v[i] = acc.v[acc.n - 1 - i];
        acc.v[acc.n - 1 - i] = t;
    }
    *out = acc.v;
    *n = acc.n;
    return HD_OK;
}

static int ticket_exists(hd_txn *txn, uint64_t id, hd_err *err)
{
    hd_key k;
    const void *v;
    size_t n;
    int rc = hd_store_get(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id), &v, &n, err);
    return rc == HD_ENOTFOUND ? 0 : rc < 0 ? rc : 1;
}

int hd_thread_msgid_lookup(hd_txn *txn, const char *id, uint64_t *out, hd_err *err)
{
    hd_key k;
    const void *v;
    size_t n;
    if (!id || !*id)
        return 0;
    int rc = hd_store_get(txn, HD_STORE_IDX_MSGID, hd_mailkey_msgid(&k, id), &v, &n, err);
    if (rc == HD_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    rc = hd_tickets_read_id(v, n, out, err);
    return rc < 0 ? rc : 1;
}

/* Is addr the requester or a recorded participant of ticket id? */
static int sender_allowed(hd_txn *txn, hd_arena *a, uint64_t id, const char *addr, hd_err *err)
{
    hd_key k;
    const void *v;
    size_t n;
    if (!addr || !*addr)
        return 0;
    int rc =
        hd_store_get(txn, HD_STORE_MAILSTATE, hd_mailkey_participant(&k, id, addr), &v, &n, err);
    if (rc == 0)
        return 1;
    if (rc != HD_ENOTFOUND)
        return rc;
    ProtobufCMessage *pm = NULL;
    rc = hd_store_get_msg(txn, HD_STORE_TICKETS, hd_tickets_key_id(&k, id),
                          &helpdesk__v1__ticket__descriptor, a, &pm, err);
    if (rc == HD_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    Helpdesk__V1__Ticket *t = (Helpdesk__V1__Ticket *)pm;
    rc = hd_store_get_msg(txn, HD_STORE_CUSTOMERS, hd_tickets_key_id(&k, t->customer_id),
                          &helpdesk__v1__customer__descriptor, a, &pm, err);
    if (rc == HD_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    Helpdesk__V1__Customer *cu = (Helpdesk__V1__Customer *)pm;
    return strcasecmp(cu->email, addr) == 0;
}

int hd_thread_resolve(hd_txn *txn, hd_arena *a, const hd_thread_conf *c, const hd_mime_msg *m,
                      uint64_t *ticket_id, hd_thread_via *via, hd_err *err)
{
    uint64_t id = 0;
    int rc;
    *ticket_id = 0;
    *via = HD_THREAD_NONE;
    /* 1. Our own Message-ID token in In-Reply-To or References. */
    if (hd_thread_own_msgid_parse(c, m->in_reply_to, &id)) {
        rc = ticket_exists(txn, id, err);
        if (rc < 0)
            return rc;
        if (rc)
            goto found_own;
    }
    for (size_t i = m->n_references; i-- > 0;) {
        if (hd_thread_own_msgid_parse(c, m->references[i], &id)) {
            rc = ticket_exists(txn, id, err);
            if (rc < 0)
                return rc;
            if (rc)
                goto found_own;
        }
    }
    /* 2. Known Message-IDs: In-Reply-To, then References newest first. */
    rc = hd_thread_msgid_lookup(txn, m->in_reply_to, &id, err);
    if (rc < 0)
        return rc;
    for (size_t i = m->n_references; rc == 0 && i-- > 0;) {
        rc = hd_thread_msgid_lookup(txn, m->references[i], &id, err);
        if (rc < 0)
            return rc;
    }
    if (rc == 1) {
        rc = ticket_exists(txn, id, err);
        if (rc < 0)
            return rc;
        if (rc) {
            *ticket_id = id;
            *via = HD_THREAD_MSGID_INDEX;
            return HD_OK;
        }
    }
    /* 3. Ticket number in the subject, from the requester or a participant. */
    char num[24];
    if (hd_thread_subject_number(m->subject, num, sizeof num)) {
        hd_key k;
        const void *v;
        size_t n;
        rc = hd_store_get(txn, HD_STORE_IDX_NUMBER, hd_tickets_key_number(&k, num), &v, &n, err);
        if (rc == 0) {
            rc = hd_tickets_read_id(v, n, &id, err);
            if (rc < 0)
                return rc;
            rc = sender_allowed(txn, a, id, m->from.addr, err);
            if (rc < 0)
                return rc;
            if (rc) {
                *ticket_id = id;
                *via = HD_THREAD_SUBJECT_TAG;
                return HD_OK;
            }
        } else if (rc != HD_ENOTFOUND) {
            return rc;
        }
    }
    /* 4. Plus-address reply token in To or Cc. */
    for (size_t i = 0; i < m->n_to + m->n_cc; i++) {
        const char *addr = i < m->n_to ? m->to[i].addr : m->cc[i - m->n_to].addr;
        if (hd_thread_reply_token_parse(c, addr, &id)) {
            rc = ticket_exists(txn, id, err);
            if (rc < 0)
                return rc;
            if (rc) {
                *ticket_id = id;
                *via = HD_THREAD_REPLY_TOKEN;
                return HD_OK;
            }
        }
    }
    return HD_OK;
found_own:
    *ticket_id = id;
    *via = HD_THREAD_OWN_ID;
    return HD_OK;
}
