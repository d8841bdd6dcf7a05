/* Reflection index: the FileDescriptorSet is walked once on the wire to keep each file's
 * exact bytes (no re-packing, so clients see what protoc wrote), each file is unpacked with
 * protobuf-c's descriptor.pb-c into the index's arena, and every symbol goes into one
 * sorted array searched with bsearch. Nothing changes after create, so reads need no lock. */
#include "server/rpc/builtin/refl_index.h"

#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "server/common/arena.h"

typedef struct refl_file {
    const char *name;
    const uint8_t *data;
    size_t len;
    size_t *deps; /* resolved file numbers */
    size_t n_deps;
    Google__Protobuf__FileDescriptorProto *proto;
} refl_file;

typedef struct refl_sym {
    const char *name;
    size_t file;
    size_t seq; /* insertion order: the first definition wins on duplicates */
    hd_refl_kind kind;
} refl_sym;

typedef struct refl_ext {
    const char *extendee; /* fully qualified, without leading '.' */
    int32_t number;
    size_t file;
} refl_ext;

struct hd_refl_index {
    hd_arena *arena; /* set copy, unpacked files, names, small arrays */
    refl_file *files;
    size_t n_files;
    const refl_file **by_name; /* files sorted by name */
    refl_sym *syms;            /* malloc'd, sorted by name, unique */
    size_t n_syms;
    size_t cap_syms;
    const char **services; /* malloc'd, sorted */
    size_t n_services;
    size_t cap_services;
    refl_ext *exts; /* malloc'd */
    size_t n_exts;
    size_t cap_exts;
};

/* Reads a varint at *p (< end); returns 0 and advances, or -1 on truncation/overflow. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1;
}

/* Splits the set into its `file` fields (1, length-delimited), recording each file's
 * bytes in idx->files (room for cap). Returns HD_OK or HD_ECORRUPT. */
static int split_set(const uint8_t *p, const uint8_t *end, hd_refl_index *idx, size_t cap,
                     hd_err *err)
{
    while (p < end) {
        uint64_t key, len;
        if (read_varint(&p, end, &key) < 0)
            return hd_err_set(err, HD_ECORRUPT, "descriptor set: bad field key");
        unsigned wt = (unsigned)(key & 7);
        if (wt == 0) {
            uint64_t ignored;
            if (read_varint(&p, end, &ignored) < 0)
                return hd_err_set(err, HD_ECORRUPT, "descriptor set: bad varint");
        } else if (wt == 1 || wt == 5) {
            size_t skip = wt == 1 ? 8 : 4;
            if ((size_t)(end - p) < skip)
                return hd_err_set(err, HD_ECORRUPT, "descriptor set: truncated");
            p += skip;
        } else if (wt == 2) {
            if (read_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p))
                return hd_err_set(err, HD_ECORRUPT, "descriptor set: bad length");
            if ((key >> 3) == 1) {
                if (idx->n_files == cap)
                    return hd_err_set(err, HD_ECORRUPT, "descriptor set: too many files");
                idx->files[idx->n_files].data = p;
                idx->files[idx->n_files].len = (size_t)len;
                idx->n_files++;
            }
            p += len;
        } else {
            return hd_err_set(err, HD_ECORRUPT, "descriptor set: wire type %u", wt);
        }
    }
    return HD_OK;
}

static int grow(void **arr, size_t *cap, size_t elem)
{
    size_t ncap = *cap ? *cap * 2 : 64;
    void *n = realloc(*arr, ncap * elem);
    if (!n)
        return HD_ENOMEM;
    *arr = n;
    *cap = ncap;
    return HD_OK;
}

/* Joins prefix and name with '.' in the arena ("" prefix gives name). NULL on ENOMEM. */
static const char *join(hd_arena *a, const char *prefix, const char *name)
{
    if (!prefix || !prefix[0])
        return hd_arena_strdup(a, name);
    return hd_arena_printf(a, "%s.%s", prefix, name);
}

static int add_sym(hd_refl_index *idx, const char *name, size_t file, hd_refl_kind kind)
{
    if (!name)
        return HD_ENOMEM;
    if (idx->n_syms == idx->cap_syms &&
        grow((void **)&idx->syms, &idx->cap_syms, sizeof(*idx->syms)) < 0)
        return HD_ENOMEM;
    idx->syms[idx->n_syms] = (refl_sym){name, file, idx->n_syms, kind};
    idx->n_syms++;
    return HD_OK;
}

static int add_ext(hd_refl_index *idx, const Google__Protobuf__FieldDescriptorProto *f,
                   const char *prefix, size_t file)
{
    int rc = add_sym(idx, join(idx->arena, prefix, f->name), file, HD_REFL_EXTENSION);
    if (rc < 0)
        return rc;
    if (idx->n_exts == idx->cap_exts &&
        grow((void **)&idx->exts, &idx->cap_exts, sizeof(*idx->exts)) < 0)
        return HD_ENOMEM;
    const char *ext = f->extendee ? f->extendee : "";
    if (ext[0] == '.')
        ext++;
    idx->exts[idx->n_exts++] = (refl_ext){ext, f->number, file};
    return HD_OK;
}

static int add_enum(hd_refl_index *idx, const Google__Protobuf__EnumDescriptorProto *e,
                    const char *prefix, size_t file)
{
    int rc = add_sym(idx, join(idx->arena, prefix, e->name), file, HD_REFL_ENUM);
    for (size_t i = 0; rc == HD_OK && i < e->n_value; i++)
        rc = add_sym(idx, join(idx->arena, prefix, e->value[i]->name), file, HD_REFL_ENUM_VALUE);
    return rc;
}

static int add_message(hd_refl_index *idx, const Google__Protobuf__DescriptorProto *m,
                       const char *prefix, size_t file)
{
    const char *full = join(idx->arena, prefix, m->name);
    int rc = add_sym(idx, full, file, HD_REFL_MESSAGE);
    for (size_t i = 0; rc == HD_OK && i < m->n_field; i++)
        rc = add_sym(idx, join(idx->arena, full, m->field[i]->name), file, HD_REFL_FIELD);
    for (size_t i = 0; rc == HD_OK && i < m->n_oneof_decl; i++)
        rc = add_sym(idx, join(idx->arena, full, m->oneof_decl[i]->name), file, HD_REFL_ONEOF);
    for (size_t i = 0; rc == HD_OK && i < m->n_nested_type; i++)
        rc = add_message(idx, m->nested_type[i], full, file);
    for (size_t i = 0; rc == HD_OK && i < m->n_enum_type; i++)
        rc = add_enum(idx, m->enum_type[i], full, file);
    for (size_t i = 0; rc == HD_OK && i < m->n_extension; i++)
        rc = add_ext(idx, m->extension[i], full, file);
    return rc;
}

static int add_file_symbols(hd_refl_index *idx, size_t file)
{
    const Google__Protobuf__FileDescriptorProto *f = idx->files[file].proto;
    const char *pkg = f->package ? f->package : "";
    int rc = HD_OK;
    /* "a.b.c" declares packages "a", "a.b" and "a.b.c". */
    for (size_t i = 0; rc == HD_OK && pkg[i]; i++) {
        if (pkg[i + 1] == '\0' || pkg[i + 1] == '.')
            rc = add_sym(idx, hd_arena_strndup(idx->arena, pkg, i + 1), file, HD_REFL_PACKAGE);
    }
    for (size_t i = 0; rc == HD_OK && i < f->n_message_type; i++)
        rc = add_message(idx, f->message_type[i], pkg, file);
    for (size_t i = 0; rc == HD_OK && i < f->n_enum_type; i++)
        rc = add_enum(idx, f->enum_type[i], pkg, file);
    for (size_t i = 0; rc == HD_OK && i < f->n_extension; i++)
        rc = add_ext(idx, f->extension[i], pkg, file);
    for (size_t i = 0; rc == HD_OK && i < f->n_service; i++) {
        const Google__Protobuf__ServiceDescriptorProto *s = f->service[i];
        const char *full = join(idx->arena, pkg, s->name);
        rc = add_sym(idx, full, file, HD_REFL_SERVICE);
        for (size_t j = 0; rc == HD_OK && j < s->n_method; j++)
            rc = add_sym(idx, join(idx->arena, full, s->method[j]->name), file, HD_REFL_METHOD);
        if (rc == HD_OK && idx->n_services == idx->cap_services &&
            grow((void **)&idx->services, &idx->cap_services, sizeof(*idx->services)) < 0)
            rc = HD_ENOMEM;
        if (rc == HD_OK)
            idx->services[idx->n_services++] = full;
    }
    return rc;
}

static int cmp_sym(const void *a, const void *b)
{
    const refl_sym *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp((*(const refl_file *const *)a)->name, (*(const refl_file *const *)b)->name);
}

static int resolve_deps(hd_refl_index *idx, hd_err *err)
{
    for (size_t i = 0; i < idx->n_files; i++) {
        refl_file *f = &idx->files[i];
        f->n_deps = f->proto->n_dependency;
        f->deps = hd_arena_calloc(idx->arena, f->n_deps, sizeof(*f->deps));
        if (!f->deps)
            return hd_err_set(err, HD_ENOMEM, "reflection index: out of memory");
        for (size_t j = 0; j < f->n_deps; j++) {
            if (hd_refl_index_find_file(idx, f->proto->dependency[j], &f->deps[j]) < 0)
                return hd_err_set(err, HD_ECORRUPT, "descriptor set: %s imports missing %s",
                                  f->name, f->proto->dependency[j]);
        }
    }
    return HD_OK;
}

int hd_refl_index_create(hd_refl_index **out, const void *set, size_t len, hd_err *err)
{
    int rc;
    *out = NULL;
    hd_refl_index *idx = calloc(1, sizeof(*idx));
    if (!idx)
        return hd_err_set(err, HD_ENOMEM, "reflection index: out of memory");
    idx->arena = hd_arena_create(64 * 1024);
    uint8_t *copy = idx->arena ? hd_arena_alloc(idx->arena, len) : NULL;
    /* A file takes at least 2 bytes on the wire: an upper bound for the file count. */
    idx->files = copy ? hd_arena_calloc(idx->arena, len / 2 + 1, sizeof(*idx->files)) : NULL;
    if (!idx->files) {
        rc = hd_err_set(err, HD_ENOMEM, "reflection index: out of memory");
        goto fail;
    }
    if (len)
        memcpy(copy, set, len);
    rc = split_set(copy, copy + len, idx, len / 2 + 1, err);
    if (rc < 0)
        goto fail;

    ProtobufCAllocator pa;
    hd_arena_pb_allocator(idx->arena, &pa);
    for (size_t i = 0; i < idx->n_files; i++) {
        refl_file *f = &idx->files[i];
        f->proto = google__protobuf__file_descriptor_proto__unpack(&pa, f->len, f->data);
        if (!f->proto || !f->proto->name) {
            rc = hd_err_set(err, HD_ECORRUPT, "descriptor set: file %zu does not unpack", i);
            goto fail;
        }
        f->name = f->proto->name;
    }

    idx->by_name = hd_arena_calloc(idx->arena, idx->n_files, sizeof(*idx->by_name));
    if (!idx->by_name) {
        rc = hd_err_set(err, HD_ENOMEM, "reflection index: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < idx->n_files; i++)
        idx->by_name[i] = &idx->files[i];
    qsort(idx->by_name, idx->n_files, sizeof(*idx->by_name), cmp_file);
    for (size_t i = 1; i < idx->n_files; i++) {
        const char *a = idx->by_name[i - 1]->name;
        if (strcmp(a, idx->by_name[i]->name) == 0) {
            rc = hd_err_set(err, HD_ECORRUPT, "descriptor set: %s appears twice", a);
            goto fail;
        }
    }
    rc = resolve_deps(idx, err);
    if (rc < 0)
        goto fail;

    for (size_t i = 0; i < idx->n_files; i++) {
        rc = add_file_symbols(idx, i);
        if (rc < 0) {
            hd_err_set(err, rc, "reflection index: out of memory");
            goto fail;
        }
    }
    if (idx->n_syms) /* qsort's base must not be NULL, even for 0 elements */
        qsort(idx->syms, idx->n_syms, sizeof(*idx->syms), cmp_sym);
    size_t w = 0;
    for (size_t r = 0; r < idx->n_syms; r++) {
        if (w > 0 && strcmp(idx->syms[w - 1].name, idx->syms[r].name) == 0)
            continue;
        idx->syms[w++] = idx->syms[r];
    }
    idx->n_syms = w;
    if (idx->n_services)
        qsort(idx->services, idx->n_services, sizeof(*idx->services), cmp_str);

    *out = idx;
    return HD_OK;
fail:
    hd_refl_index_destroy(idx);
    return rc;
}

void hd_refl_index_destroy(hd_refl_index *idx)
{
    if (!idx)
        return;
    free(idx->syms);
    free(idx->services);
    free(idx->exts);
    hd_arena_destroy(idx->arena);
    free(idx);
}

size_t hd_refl_index_file_count(const hd_refl_index *idx)
{
    return idx->n_files;
}

const char *hd_refl_index_file_name(const hd_refl_index *idx, size_t i)
{
    return idx->files[i].name;
}

const uint8_t *hd_refl_index_file_bytes(const hd_refl_index *idx, size_t i, size_t *len)
{
    *len = idx->files[i].len;
    return idx->files[i].data;
}

int hd_refl_index_find_file(const hd_refl_index *idx, const char *name, size_t *file)
{
    size_t lo = 0, hi = idx->n_files;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, idx->by_name[mid]->name);
        if (c == 0) {
            *file = (size_t)(idx->by_name[mid] - idx->files);
            return HD_OK;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return HD_ENOTFOUND;
}

int hd_refl_index_find_symbol(const hd_refl_index *idx, const char *symbol, size_t *file,
                              hd_refl_kind *kind)
{
    if (symbol[0] == '.')
        symbol++;
    size_t lo = 0, hi = idx->n_syms;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(symbol, idx->syms[mid].name);
        if (c == 0) {
            *file = idx->syms[mid].file;
            if (kind)
                *kind = idx->syms[mid].kind;
            return HD_OK;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return HD_ENOTFOUND;
}

size_t hd_refl_index_service_count(const hd_refl_index *idx)
{
    return idx->n_services;
}

const char *hd_refl_index_service(const hd_refl_index *idx, size_t i)
{
    return idx->services[i];
}

size_t hd_refl_index_closure(const hd_refl_index *idx, size_t file, size_t *out)
{
    /* out doubles as the breadth-first queue; sets are small, so the membership scan is
     * cheap (n_files^2 at worst). */
    size_t n = 0;
    out[n++] = file;
    for (size_t head = 0; head < n; head++) {
        const refl_file *f = &idx->files[out[head]];
        for (size_t j = 0; j < f->n_deps; j++) {
            size_t d = f->deps[j];
            size_t k = 0;
            while (k < n && out[k] != d)
                k++;
            if (k == n)
                out[n++] = d;
        }
    }
    return n;
}

int hd_refl_index_find_extension(const hd_refl_index *idx, const char *type, int32_t number,
                                 size_t *file)
{
    if (type[0] == '.')
        type++;
    for (size_t i = 0; i < idx->n_exts; i++) {
        if (idx->exts[i].number == number && strcmp(idx->exts[i].extendee, type) == 0) {
            *file = idx->exts[i].file;
            return HD_OK;
        }
    }
    return HD_ENOTFOUND;
}

size_t hd_refl_index_extension_numbers(const hd_refl_index *idx, const char *type, int32_t *out,
                                       size_t cap)
{
    if (type[0] == '.')
        type++;
    size_t n = 0;
    for (size_t i = 0; i < idx->n_exts; i++) {
        if (strcmp(idx->exts[i].extendee, type) != 0)
            continue;
        if (n < cap)
            out[n] = idx->exts[i].number;
        n++;
    }
    return n;
}
