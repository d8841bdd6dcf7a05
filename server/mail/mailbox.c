/* Mailbox configuration with sealed passwords (see mailbox.h). */
#include "server/mail/mailbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "server/mail/keys.h"
#include "server/validate/validate.h"

int hd_mailbox_key_load(unsigned char key[HD_MAILBOX_KEY_BYTES], const char *path, hd_err *err)
{
    if (sodium_init() < 0)
        return hd_err_set(err, HD_EINTERNAL, "mailbox key: libsodium init failed");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        randombytes_buf(key, HD_MAILBOX_KEY_BYTES);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return hd_err_set(err, HD_EIO, "mailbox key %s: %s", path, strerror(errno));
        ssize_t w = write(fd, key, HD_MAILBOX_KEY_BYTES);
        int rc = (w == HD_MAILBOX_KEY_BYTES && fsync(fd) == 0) ? 0 : -1;
        close(fd);
        if (rc < 0)
            return hd_err_set(err, HD_EIO, "mailbox key %s: write failed", path);
        return HD_OK;
    }
    if (fd < 0)
        return hd_err_set(err, HD_EIO, "mailbox key %s: %s", path, strerror(errno));
    ssize_t r = read(fd, key, HD_MAILBOX_KEY_BYTES);
    unsigned char extra;
    ssize_t more = read(fd, &extra, 1);
    close(fd);
    if (r != HD_MAILBOX_KEY_BYTES || more != 0)
        return hd_err_set(err, HD_ECORRUPT, "mailbox key %s: not %d bytes", path,
                          HD_MAILBOX_KEY_BYTES);
    return HD_OK;
}

/* Writable empty and default strings for protobuf-c fields (char *, never freed here). */
static char empty_str[1];
static char inbox_str[] = "INBOX";

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static bool line_ok(const char *s)
{
    return hd_validate_single_line(s, strlen(s)) && hd_validate_utf8(s, strlen(s));
}

int hd_mailbox_validate(const Helpdesk__V1__Mailbox *m, hd_err *err)
{
    size_t nl = strlen(m->name);
    if (nl == 0 || !line_ok(m->name) || hd_validate_utf8_chars(m->name, nl) > HD_MAILBOX_NAME_MAX)
        return hd_err_set(err, HD_EINVAL, "name: 1-%d characters, one line", HD_MAILBOX_NAME_MAX);
    if (!has_prefix(m->imap_url, "imap://") && !has_prefix(m->imap_url, "imaps://"))
        return hd_err_set(err, HD_EINVAL, "imap_url: must start with imap:// or imaps://");
    if (*m->smtp_url && !has_prefix(m->smtp_url, "smtp://") && !has_prefix(m->smtp_url, "smtps://"))
        return hd_err_set(err, HD_EINVAL, "smtp_url: must start with smtp:// or smtps://");
    const char *lines[] = {m->imap_url,      m->imap_username,    m->imap_password,
                           m->folder,        m->processed_folder, m->smtp_url,
                           m->smtp_username, m->smtp_password,    m->from_name,
                           m->category,      m->ca_file};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!line_ok(lines[i]))
            return hd_err_set(err, HD_EINVAL, "settings: a value contains CR or LF");
    if (*m->ca_file) {
        if (m->ca_file[0] != '/')
            return hd_err_set(err, HD_EINVAL, "ca_file: must be an absolute path");
        if (access(m->ca_file, R_OK) != 0)
            return hd_err_set(err, HD_EINVAL, "ca_file: %s: %s", m->ca_file, strerror(errno));
        if (!m->tls && !has_prefix(m->imap_url, "imaps://"))
            return hd_err_set(err, HD_EINVAL, "ca_file: only used with tls or an imaps:// url");
    }
    if (*m->from_address && !hd_validate_email(m->from_address, strlen(m->from_address)))
        return hd_err_set(err, HD_EINVAL, "from_address: not a valid address");
    if (*m->smtp_url && !*m->from_address)
        return hd_err_set(err, HD_EINVAL, "from_address: required with smtp_url");
    if (m->poll_interval_seconds > 86400)
        return hd_err_set(err, HD_EINVAL, "poll_interval_seconds: 1-86400");
    if (m->after_fetch == HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_MOVE && !*m->processed_folder)
        return hd_err_set(err, HD_EINVAL, "processed_folder: required with AFTER_FETCH_MOVE");
    if (strpbrk(m->folder, "\"\\") || strpbrk(m->processed_folder, "\"\\"))
        return hd_err_set(err, HD_EINVAL, "folder: quotes and backslashes are not allowed");
    return HD_OK;
}

static int seal(hd_arena *a, const unsigned char *key, const char *pw, ProtobufCBinaryData *out)
{
    size_t n = strlen(pw);
    out->len = 0;
    out->data = NULL;
    if (n == 0)
        return HD_OK;
    size_t len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
    unsigned char *b = hd_arena_alloc(a, len);
    if (!b)
        return HD_ENOMEM;
    randombytes_buf(b, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(b + crypto_secretbox_NONCEBYTES, (const unsigned char *)pw, n, b, key);
    out->data = b;
    out->len = len;
    return HD_OK;
}

static char *unseal(hd_arena *a, const unsigned char *key, const ProtobufCBinaryData *in)
{
    if (in->len == 0)
        return hd_arena_strdup(a, "");
    if (in->len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return NULL;
    size_t n = in->len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *pw = hd_arena_alloc(a, n + 1);
    if (!pw ||
        crypto_secretbox_open_easy((unsigned char *)pw, in->data + crypto_secretbox_NONCEBYTES,
                                   in->len - crypto_secretbox_NONCEBYTES, in->data, key) != 0)
        return NULL;
    pw[n] = '\0';
    return pw;
}

/* Deep copy of a message into arena memory (pack, unpack with the arena allocator). */
static ProtobufCMessage *copy_msg(hd_arena *a, const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = hd_arena_alloc(a, n ? n : 1);
    if (!buf)
        return NULL;
    protobuf_c_message_pack(m, buf);
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(a, &pa);
    return protobuf_c_message_unpack(m->descriptor, &pa, n, buf);
}

static void fill_defaults(Helpdesk__V1__Mailbox *m)
{
    if (!*m->folder)
        m->folder = inbox_str;
    if (!m->poll_interval_seconds)
        m->poll_interval_seconds = HD_MAILBOX_POLL_DEFAULT_S;
    if (m->priority == HELPDESK__V1__PRIORITY__PRIORITY_UNSPECIFIED)
        m->priority = HELPDESK__V1__PRIORITY__PRIORITY_NORMAL;
    if (m->after_fetch == HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_UNSPECIFIED)
        m->after_fetch = HELPDESK__V1__AFTER_FETCH__AFTER_FETCH_SEEN;
    if (!m->max_message_bytes)
        m->max_message_bytes = HD_MAILBOX_MAX_MSG_DEFAULT;
}

typedef struct put_args {
    const unsigned char *key;
    hd_arena *a;
    Helpdesk__V1__Mailbox *mb; /* working copy, passwords in clear (input) */
    char *const *paths;
    size_t n_paths;
    bool is_add;
    Helpdesk__V1__StoredMailbox *stored; /* result */
} put_args;

static bool path_has(const put_args *p, const char *name)
{
    if (p->n_paths == 0)
        return true;
    for (size_t i = 0; i < p->n_paths; i++)
        if (strcmp(p->paths[i], name) == 0)
            return true;
    return false;
}

/* Applies the masked fields of src onto dst (both Mailbox), by field descriptor name. */
static void merge_fields(const put_args *p, Helpdesk__V1__Mailbox *dst,
                         const Helpdesk__V1__Mailbox *src)
{
    const ProtobufCMessageDescriptor *d = &helpdesk__v1__mailbox__descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (strcmp(f->name, "id") == 0 || strcmp(f->name, "has_imap_password") == 0 ||
            strcmp(f->name, "has_smtp_password") == 0 || !path_has(p, f->name))
            continue;
        void *to = (char *)dst + f->offset;
        const void *from = (const char *)src + f->offset;
        if (f->type == PROTOBUF_C_TYPE_STRING) {
            bool pw =
                strcmp(f->name, "imap_password") == 0 || strcmp(f->name, "smtp_password") == 0;
            if (pw && !**(char *const *)from)
                continue;
            *(char **)to = *(char *const *)from;
        } else if (f->type == PROTOBUF_C_TYPE_UINT64) {
            *(uint64_t *)to = *(const uint64_t *)from;
        } else {
            /* uint32, bool and enums are all 4 bytes in protobuf-c. */
            memcpy(to, from, 4);
        }
    }
}

static int put_apply(hd_txn *txn, void *arg, hd_err *err)
{
    put_args *p = arg;
    hd_key k;
    int rc;
    Helpdesk__V1__StoredMailbox *st = hd_arena_calloc(p->a, 1, sizeof *st);
    Helpdesk__V1__Mailbox *mb = hd_arena_calloc(p->a, 1, sizeof *mb);
    if (!st || !mb)
        return hd_err_set(err, HD_ENOMEM, "mailbox: out of memory");
    helpdesk__v1__stored_mailbox__init(st);
    if (p->is_add) {
        *mb = *p->mb;
        rc = hd_store_seq_next(txn, HD_MAILKEY_SEQ_MAILBOX, &mb->id, err);
        if (rc < 0)
            return rc;
    } else {
        ProtobufCMessage *pm = NULL;
        rc = hd_store_get_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_mailbox(&k, p->mb->id),
                              &helpdesk__v1__stored_mailbox__descriptor, p->a, &pm, err);
        if (rc == HD_ENOTFOUND)
            return hd_err_set(err, HD_ENOTFOUND, "mailbox %llu: not found",
                              (unsigned long long)p->mb->id);
        if (rc < 0)
            return rc;
        Helpdesk__V1__StoredMailbox *old = (Helpdesk__V1__StoredMailbox *)pm;
        *st = *old;
        *mb = *old->mailbox;
        merge_fields(p, mb, p->mb);
    }
    fill_defaults(mb);
    rc = hd_mailbox_validate(mb, err);
    if (rc < 0)
        return rc;
    if (*mb->imap_password && seal(p->a, p->key, mb->imap_password, &st->imap_password_sealed) < 0)
        return hd_err_set(err, HD_ENOMEM, "mailbox: out of memory");
    if (*mb->smtp_password && seal(p->a, p->key, mb->smtp_password, &st->smtp_password_sealed) < 0)
        return hd_err_set(err, HD_ENOMEM, "mailbox: out of memory");
    mb->imap_password = empty_str;
    mb->smtp_password = empty_str;
    mb->has_imap_password = st->imap_password_sealed.len > 0;
    mb->has_smtp_password = st->smtp_password_sealed.len > 0;
    st->mailbox = mb;
    rc = hd_store_put_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_mailbox(&k, mb->id), &st->base, 0,
                          err);
    if (rc < 0)
        return rc;
    p->stored = st;
    return HD_OK;
}

static int put(hd_store *s, const unsigned char *key, hd_arena *a, const Helpdesk__V1__Mailbox *in,
               char *const *paths, size_t n, bool is_add, Helpdesk__V1__Mailbox **out, hd_err *err)
{
    Helpdesk__V1__Mailbox *copy = (Helpdesk__V1__Mailbox *)copy_msg(a, &in->base);
    if (!copy)
        return hd_err_set(err, HD_ENOMEM, "mailbox: out of memory");
    put_args p = {key, a, copy, paths, n, is_add, NULL};
    if (is_add) {
        fill_defaults(copy);
        int rc = hd_mailbox_validate(copy, err);
        if (rc < 0)
            return rc;
    }
    int rc = hd_store_write(s, put_apply, &p, err);
    if (rc < 0)
        return rc;
    *out = p.stored->mailbox;
    return HD_OK;
}

int hd_mailbox_add(hd_store *s, const unsigned char *key, hd_arena *a,
                   const Helpdesk__V1__Mailbox *in, Helpdesk__V1__Mailbox **out, hd_err *err)
{
    return put(s, key, a, in, NULL, 0, true, out, err);
}

int hd_mailbox_update(hd_store *s, const unsigned char *key, hd_arena *a,
                      const Helpdesk__V1__Mailbox *in, char *const *paths, size_t n,
                      Helpdesk__V1__Mailbox **out, hd_err *err)
{
    return put(s, key, a, in, paths, n, false, out, err);
}

static int remove_apply(hd_txn *txn, void *arg, hd_err *err)
{
    uint64_t id = *(uint64_t *)arg;
    hd_key k;
    int rc = hd_store_del(txn, HD_STORE_MAILSTATE, hd_mailkey_mailbox(&k, id), err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "mailbox %llu: not found", (unsigned long long)id);
    if (rc < 0)
        return rc;
    rc = hd_store_del(txn, HD_STORE_MAILSTATE, hd_mailkey_state(&k, id), err);
    return rc == HD_ENOTFOUND ? HD_OK : rc;
}

int hd_mailbox_remove(hd_store *s, uint64_t id, hd_err *err)
{
    return hd_store_write(s, remove_apply, &id, err);
}

typedef struct scan_acc {
    hd_arena *a;
    Helpdesk__V1__StoredMailbox **v;
    size_t n, cap;
    int rc;
} scan_acc;

static int scan_cb(void *arg, const void *key, size_t klen, const void *val, size_t vlen)
{
    (void)key;
    (void)klen;
    scan_acc *acc = arg;
    if (acc->n == acc->cap) {
        size_t cap = acc->cap ? acc->cap * 2 : 8;
        Helpdesk__V1__StoredMailbox **nv = hd_arena_calloc(acc->a, cap, sizeof *nv);
        if (!nv)
            return HD_ENOMEM;
        if (acc->n)
            memcpy(nv, acc->v, acc->n * sizeof *nv);
        acc->v = nv;
        acc->cap = cap;
    }
    ProtobufCAllocator pa;
    hd_arena_pb_allocator(acc->a, &pa);
    Helpdesk__V1__StoredMailbox *st = helpdesk__v1__stored_mailbox__unpack(&pa, vlen, val);
    if (!st || !st->mailbox)
        return HD_ECORRUPT;
    acc->v[acc->n++] = st;
    return 0;
}

static int scan_all(hd_txn *txn, hd_arena *a, scan_acc *acc, hd_err *err)
{
    hd_key prefix;
    hd_key_init(&prefix);
    hd_key_u8(&prefix, HD_MAILKEY_MAILBOX);
    *acc = (scan_acc){.a = a};
    hd_store_range r = {.prefix = &prefix};
    int64_t rc = hd_store_scan(txn, HD_STORE_MAILSTATE, &r, scan_cb, acc, err);
    if (rc == HD_ECORRUPT)
        return hd_err_set(err, HD_ECORRUPT, "mailbox: stored record does not unpack");
    return rc < 0 ? (int)rc : HD_OK;
}

int hd_mailbox_state_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__MailboxState **out,
                         hd_err *err)
{
    hd_key k;
    ProtobufCMessage *pm = NULL;
    *out = NULL;
    int rc = hd_store_get_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_state(&k, id),
                              &helpdesk__v1__mailbox_state__descriptor, a, &pm, err);
    if (rc == HD_ENOTFOUND)
        return HD_OK;
    if (rc < 0)
        return rc;
    *out = (Helpdesk__V1__MailboxState *)pm;
    return HD_OK;
}

int hd_mailbox_list(hd_store *s, hd_arena *a, Helpdesk__V1__Mailbox ***out,
                    Helpdesk__V1__MailboxState ***states, size_t *n, hd_err *err)
{
    hd_txn *txn = NULL;
    scan_acc acc;
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc < 0)
        return rc;
    rc = scan_all(txn, a, &acc, err);
    if (rc < 0)
        goto fail;
    *out = hd_arena_calloc(a, acc.n ? acc.n : 1, sizeof **out);
    *states = hd_arena_calloc(a, acc.n ? acc.n : 1, sizeof **states);
    if (!*out || !*states) {
        rc = hd_err_set(err, HD_ENOMEM, "mailbox: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < acc.n; i++) {
        (*out)[i] = acc.v[i]->mailbox;
        (*out)[i]->imap_password = empty_str;
        (*out)[i]->smtp_password = empty_str;
        rc = hd_mailbox_state_get(txn, a, acc.v[i]->mailbox->id, &(*states)[i], err);
        if (rc < 0)
            goto fail;
    }
    *n = acc.n;
    rc = HD_OK;
fail:
    hd_store_read_end(txn);
    return rc;
}

static int open_conf(const unsigned char *key, hd_arena *a, Helpdesk__V1__StoredMailbox *st,
                     hd_mailbox_conf *out, hd_err *err)
{
    char *ip = unseal(a, key, &st->imap_password_sealed);
    char *sp = unseal(a, key, &st->smtp_password_sealed);
    if (!ip || !sp)
        return hd_err_set(err, HD_ECORRUPT, "mailbox %llu: password does not open with the key",
                          (unsigned long long)st->mailbox->id);
    out->mb = st->mailbox;
    out->mb->imap_password = ip;
    out->mb->smtp_password = sp;
    return HD_OK;
}

int hd_mailbox_get_conf(hd_txn *txn, const unsigned char *key, hd_arena *a, uint64_t id,
                        hd_mailbox_conf *out, hd_err *err)
{
    if (id == 0) {
        scan_acc acc;
        int rc = scan_all(txn, a, &acc, err);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < acc.n; i++)
            if (acc.v[i]->mailbox->enabled && *acc.v[i]->mailbox->smtp_url)
                return open_conf(key, a, acc.v[i], out, err);
        return hd_err_set(err, HD_ENOTFOUND, "mailbox: none enabled with an smtp_url");
    }
    hd_key k;
    ProtobufCMessage *pm = NULL;
    int rc = hd_store_get_msg(txn, HD_STORE_MAILSTATE, hd_mailkey_mailbox(&k, id),
                              &helpdesk__v1__stored_mailbox__descriptor, a, &pm, err);
    if (rc == HD_ENOTFOUND)
        return hd_err_set(err, HD_ENOTFOUND, "mailbox %llu: not found", (unsigned long long)id);
    if (rc < 0)
        return rc;
    return open_conf(key, a, (Helpdesk__V1__StoredMailbox *)pm, out, err);
}

int hd_mailbox_all_conf(hd_store *s, const unsigned char *key, hd_arena *a, hd_mailbox_conf **out,
                        size_t *n, hd_err *err)
{
    hd_txn *txn = NULL;
    scan_acc acc;
    int rc = hd_store_read_begin(s, &txn, err);
    if (rc < 0)
        return rc;
    rc = scan_all(txn, a, &acc, err);
    if (rc < 0)
        goto fail;
    *out = hd_arena_calloc(a, acc.n ? acc.n : 1, sizeof **out);
    if (!*out) {
        rc = hd_err_set(err, HD_ENOMEM, "mailbox: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < acc.n; i++) {
        rc = open_conf(key, a, acc.v[i], &(*out)[i], err);
        if (rc < 0)
            goto fail;
    }
    *n = acc.n;
    rc = HD_OK;
fail:
    hd_store_read_end(txn);
    return rc;
}
