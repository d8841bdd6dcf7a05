/* Tables, proto3 JSON from protobuf-c descriptors, enum words and times for the CLI.
 * The JSON converter walks the message descriptor, so new fields and messages print
 * without code here; it follows the proto3 JSON mapping as protoc's printers do with
 * default options (lowerCamelCase names, defaults omitted). */
#include "clients/cli/output.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- tables ------------------------------------------------------------------------- */

typedef struct cell {
    char *text;
    int style;
} cell;

struct hd_cli_table {
    size_t ncols;
    int color;
    cell *cells; /* header row first */
    size_t ncells;
    size_t cap;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *d = malloc(n + 1);
    if (d)
        memcpy(d, s, n + 1);
    return d;
}

hd_cli_table *hd_cli_table_new(const char *const *headers, size_t ncols, int color)
{
    hd_cli_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->color = color;
    for (size_t i = 0; i < ncols; i++) {
        if (hd_cli_table_cell(t, headers[i], HD_CLI_STYLE_BOLD) != 0)
            goto fail;
    }
    return t;
fail:
    hd_cli_table_free(t);
    return NULL;
}

void hd_cli_table_free(hd_cli_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i].text);
    free(t->cells);
    free(t);
}

int hd_cli_table_cell(hd_cli_table *t, const char *text, int style)
{
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        cell *c = realloc(t->cells, cap * sizeof(*c));
        if (!c)
            return -1;
        t->cells = c;
        t->cap = cap;
    }
    char *copy = dup_str(text ? text : "");
    if (!copy)
        return -1;
    /* One line per cell: a subject with a newline would break the columns. */
    for (char *p = copy; *p; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    t->cells[t->ncells].text = copy;
    t->cells[t->ncells].style = style;
    t->ncells++;
    return 0;
}

int hd_cli_table_cellf(hd_cli_table *t, int style, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return hd_cli_table_cell(t, buf, style);
}

size_t hd_cli_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) != 0x80)
            w++;
    }
    return w;
}

static const char *style_on(int style)
{
    switch (style) {
    case HD_CLI_STYLE_BOLD:
        return "\033[1m";
    case HD_CLI_STYLE_DIM:
        return "\033[2m";
    case HD_CLI_STYLE_RED:
        return "\033[31m";
    case HD_CLI_STYLE_GREEN:
        return "\033[32m";
    case HD_CLI_STYLE_YELLOW:
        return "\033[33m";
    case HD_CLI_STYLE_BLUE:
        return "\033[34m";
    case HD_CLI_STYLE_CYAN:
        return "\033[36m";
    default:
        return "";
    }
}

size_t hd_cli_table_print(const hd_cli_table *t, FILE *f)
{
    size_t widths[64] = {0};
    size_t ncols = t->ncols < 64 ? t->ncols : 64;
    size_t nrows = ncols ? t->ncells / t->ncols : 0;
    for (size_t i = 0; i < nrows * t->ncols; i++) {
        size_t c = i % t->ncols;
        if (c >= ncols)
            continue;
        size_t w = hd_cli_text_width(t->cells[i].text);
        if (w > widths[c])
            widths[c] = w;
    }
    for (size_t r = 0; r < nrows; r++) {
        for (size_t c = 0; c < ncols; c++) {
            const cell *x = &t->cells[r * t->ncols + c];
            int styled = t->color && x->style != HD_CLI_STYLE_PLAIN && x->text[0];
            if (styled)
                fputs(style_on(x->style), f);
            fputs(x->text, f);
            if (styled)
                fputs("\033[0m", f);
            if (c + 1 < ncols) {
                size_t pad = widths[c] - hd_cli_text_width(x->text) + 2;
                for (size_t k = 0; k < pad; k++)
                    fputc(' ', f);
            }
        }
        fputc('\n', f);
    }
    return nrows ? nrows - 1 : 0;
}

/* --- enums and times ---------------------------------------------------------------- */

/* The enum's value prefix: "TicketStatus" -> "TICKET_STATUS_". */
static void enum_prefix(char *buf, size_t n, const ProtobufCEnumDescriptor *desc)
{
    size_t k = 0;
    const char *s = desc->short_name;
    for (size_t i = 0; s[i] && k + 2 < n; i++) {
        if (i > 0 && isupper((unsigned char)s[i]))
            buf[k++] = '_';
        buf[k++] = (char)toupper((unsigned char)s[i]);
    }
    if (k + 1 < n)
        buf[k++] = '_';
    buf[k] = '\0';
}

static const char *strip_prefix(const ProtobufCEnumDescriptor *desc, const char *name)
{
    char prefix[128];
    enum_prefix(prefix, sizeof(prefix), desc);
    size_t len = strlen(prefix);
    return strncmp(name, prefix, len) == 0 && name[len] ? name + len : name;
}

const char *hd_cli_enum_word(char *buf, size_t n, const ProtobufCEnumDescriptor *desc, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);
    if (!v) {
        snprintf(buf, n, "%d", value);
        return buf;
    }
    snprintf(buf, n, "%s", strip_prefix(desc, v->name));
    for (char *p = buf; *p; p++)
        *p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    return buf;
}

/* Compares a word with a value name, ignoring case and treating '-' as '_'. */
static int word_eq(const char *word, const char *name)
{
    for (; *word && *name; word++, name++) {
        char a = *word == '-' ? '_' : (char)toupper((unsigned char)*word);
        if (a != *name)
            return 0;
    }
    return *word == '\0' && *name == '\0';
}

int hd_cli_enum_parse(const ProtobufCEnumDescriptor *desc, const char *word, int *out)
{
    for (unsigned i = 0; i < desc->n_values; i++) {
        const ProtobufCEnumValue *v = &desc->values[i];
        if (word_eq(word, v->name) || word_eq(word, strip_prefix(desc, v->name))) {
            *out = v->value;
            return 0;
        }
    }
    return -1;
}

const char *hd_cli_enum_words(char *buf, size_t n, const ProtobufCEnumDescriptor *desc,
                              const char *sep)
{
    size_t k = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    for (unsigned i = 0; i < desc->n_values; i++) {
        if (desc->values[i].value == 0)
            continue;
        char w[128];
        hd_cli_enum_word(w, sizeof(w), desc, desc->values[i].value);
        int m = snprintf(buf + k, n - k, "%s%s", k ? sep : "", w);
        if (m < 0 || (size_t)m >= n - k)
            break;
        k += (size_t)m;
    }
    return buf;
}

const char *hd_cli_rfc3339(char *buf, size_t n, int64_t seconds, int32_t nanos)
{
    time_t t = (time_t)seconds;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        snprintf(buf, n, "%" PRId64 "s", seconds);
        return buf;
    }
    char frac[16] = "";
    if (nanos > 0 && nanos < 1000000000) {
        if (nanos % 1000000 == 0)
            snprintf(frac, sizeof(frac), ".%03d", nanos / 1000000);
        else if (nanos % 1000 == 0)
            snprintf(frac, sizeof(frac), ".%06d", nanos / 1000);
        else
            snprintf(frac, sizeof(frac), ".%09d", nanos);
    }
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

const char *hd_cli_reltime(char *buf, size_t n, int64_t t_ms, int64_t now_ms)
{
    if (t_ms == 0) {
        snprintf(buf, n, "-");
        return buf;
    }
    int64_t d = now_ms - t_ms;
    int future = d < 0;
    int64_t s = (future ? -d : d) / 1000;
    char amount[32];
    if (!future && s < 10) {
        snprintf(buf, n, "just now");
        return buf;
    }
    if (s < 60)
        snprintf(amount, sizeof(amount), "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(amount, sizeof(amount), "%" PRId64 "m", s / 60);
    else if (s < 86400)
        snprintf(amount, sizeof(amount), "%" PRId64 "h", s / 3600);
    else if (s < 30 * 86400)
        snprintf(amount, sizeof(amount), "%" PRId64 "d", s / 86400);
    else {
        char full[40];
        hd_cli_rfc3339(full, sizeof(full), t_ms / 1000, 0);
        snprintf(buf, n, "%.10s", full);
        return buf;
    }
    snprintf(buf, n, future ? "in %s" : "%s ago", amount);
    return buf;
}

/* --- JSON --------------------------------------------------------------------------- */

/* protoc's ToJsonName: drop '_' and upper-case the letter after it. */
static void json_name(char *buf, size_t n, const char *name)
{
    size_t k = 0;
    int up = 0;
    for (const char *p = name; *p && k + 1 < n; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        buf[k++] = up ? (char)toupper((unsigned char)*p) : *p;
        up = 0;
    }
    buf[k] = '\0';
}

/* A JSON string of s; invalid UTF-8 bytes become U+FFFD so output stays valid JSON. */
static json_t *json_text(const char *s, size_t len)
{
    json_t *j = json_stringn(s, len);
    if (j)
        return j;
    char *clean = malloc(len * 3 + 1);
    if (!clean)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t need = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
        int ok = need > 0 && i + need <= len && c != 0;
        for (size_t m = 1; ok && m < need; m++)
            ok = ((unsigned char)s[i + m] & 0xc0) == 0x80;
        if (ok && need > 1) {
            json_t *probe = json_stringn(s + i, need);
            ok = probe != NULL;
            json_decref(probe);
        }
        if (ok) {
            memcpy(clean + k, s + i, need);
            k += need;
            i += need;
        } else {
            memcpy(clean + k, "\xef\xbf\xbd", 3);
            k += 3;
            i++;
        }
    }
    j = json_stringn(clean, k);
    free(clean);
    return j;
}

static json_t *json_base64(const uint8_t *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t out_len = (len + 2) / 3 * 4;
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len)
            v |= data[i + 2];
        out[k++] = tbl[(v >> 18) & 63];
        out[k++] = tbl[(v >> 12) & 63];
        out[k++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[k++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    json_t *j = json_stringn(out, k);
    free(out);
    return j;
}

static json_t *json_double(double d)
{
    if (isnan(d))
        return json_string("NaN");
    if (isinf(d))
        return json_string(d > 0 ? "Infinity" : "-Infinity");
    return json_real(d);
}

static json_t *message_json(const ProtobufCMessage *msg);

/* Well-known types with a special JSON form; NULL with *handled = 0 otherwise. */
static json_t *well_known(const ProtobufCMessage *msg, int *handled)
{
    const char *name = msg->descriptor->name;
    *handled = 1;
    if (strcmp(name, "google.protobuf.Timestamp") == 0) {
        int64_t s = 0;
        int32_t ns = 0;
        for (unsigned i = 0; i < msg->descriptor->n_fields; i++) {
            const ProtobufCFieldDescriptor *f = &msg->descriptor->fields[i];
            const char *p = (const char *)msg + f->offset;
            if (f->id == 1)
                memcpy(&s, p, sizeof(s));
            else if (f->id == 2)
                memcpy(&ns, p, sizeof(ns));
        }
        char buf[64];
        return json_string(hd_cli_rfc3339(buf, sizeof(buf), s, ns));
    }
    if (strcmp(name, "google.protobuf.FieldMask") == 0) {
        const ProtobufCFieldDescriptor *f = &msg->descriptor->fields[0];
        size_t n;
        char **paths;
        memcpy(&n, (const char *)msg + f->quantifier_offset, sizeof(n));
        memcpy(&paths, (const char *)msg + f->offset, sizeof(paths));
        size_t total = 1;
        for (size_t i = 0; i < n; i++)
            total += strlen(paths[i]) + 1;
        char *out = malloc(total);
        if (!out)
            return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (i)
                out[k++] = ',';
            json_name(out + k, total - k, paths[i]);
            k += strlen(out + k);
        }
        out[k] = '\0';
        json_t *j = json_string(out);
        free(out);
        return j;
    }
    *handled = 0;
    return NULL;
}

/* One value of field f stored at p (an element, for repeated fields). */
static json_t *value_json(const ProtobufCFieldDescriptor *f, const void *p)
{
    char buf[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return json_integer(*(const int32_t *)p);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return json_integer(*(const uint32_t *)p);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)p);
        return json_string(buf);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)p);
        return json_string(buf);
    case PROTOBUF_C_TYPE_FLOAT:
        return json_double(*(const float *)p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return json_double(*(const double *)p);
    case PROTOBUF_C_TYPE_BOOL:
        return json_boolean(*(const protobuf_c_boolean *)p);
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        return ev ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return json_text(s ? s : "", s ? strlen(s) : 0);
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        return json_base64(b->data, b->len);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        return m ? message_json(m) : json_null();
    }
    }
    return json_null();
}

static size_t elem_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
        return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 4;
    }
}

/* Whether a singular proto3 field holds its default (and is then left out). */
static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
        return *(ProtobufCMessage *const *)p == NULL;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p == 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p == 0;
    default: {
        static const uint8_t zero[8];
        return memcmp(p, zero, elem_size(f)) == 0;
    }
    }
}

/* Whether field f of msg is present in the JSON form. */
static int present(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
    const char *base = (const char *)msg;
    const void *p = base + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t which;
        memcpy(&which, base + f->quantifier_offset, sizeof(which));
        return which == f->id;
    }
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
        return 1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_STRING)
            return *(void *const *)p != NULL;
        protobuf_c_boolean has;
        memcpy(&has, base + f->quantifier_offset, sizeof(has));
        return has;
    }
    return !is_default(f, p);
}

static json_t *message_json(const ProtobufCMessage *msg)
{
    int handled;
    json_t *wk = well_known(msg, &handled);
    if (handled)
        return wk;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)msg;
        char name[128];
        json_t *v = NULL;
        json_name(name, sizeof(name), f->name);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n;
            const char *arr;
            memcpy(&n, base + f->quantifier_offset, sizeof(n));
            memcpy(&arr, base + f->offset, sizeof(arr));
            if (n == 0)
                continue;
            v = json_array();
            for (size_t k = 0; v && k < n; k++) {
                json_t *e = value_json(f, arr + k * elem_size(f));
                if (!e || json_array_append_new(v, e) != 0) {
                    json_decref(v);
                    v = NULL;
                }
            }
        } else {
            if (!present(msg, f))
                continue;
            v = value_json(f, base + f->offset);
        }
        if (!v || json_object_set_new(obj, name, v) != 0)
            goto fail;
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

json_t *hd_cli_json_message(const ProtobufCMessage *msg)
{
    return message_json(msg);
}

int hd_cli_json_dump(FILE *f, const json_t *value)
{
    if (json_dumpf(value, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return -1;
    fputc('\n', f);
    return 0;
}

int hd_cli_json_print(FILE *f, const ProtobufCMessage *msg)
{
    json_t *j = hd_cli_json_message(msg);
    if (!j)
        return -1;
    int rc = hd_cli_json_dump(f, j);
    json_decref(j);
    return rc;
}

/* --- human field text --------------------------------------------------------------- */

static const ProtobufCFieldDescriptor *field_by_name(const ProtobufCMessageDescriptor *d,
                                                     const char *name)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (strcmp(d->fields[i].name, name) == 0)
            return &d->fields[i];
    }
    return NULL;
}

/* Appends the display text of one value to buf at *k. */
static void value_text(char *buf, size_t n, size_t *k, const ProtobufCFieldDescriptor *f,
                       const void *p, int64_t now_ms)
{
    char tmp[128];
    const char *s = tmp;
    tmp[0] = '\0';
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(tmp, sizeof(tmp), "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(tmp, sizeof(tmp), "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(tmp, sizeof(tmp), "%" PRId64, *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(tmp, sizeof(tmp), "%" PRIu64, *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        snprintf(tmp, sizeof(tmp), "%g", (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        snprintf(tmp, sizeof(tmp), "%g", *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        s = *(const protobuf_c_boolean *)p ? "yes" : "no";
        break;
    case PROTOBUF_C_TYPE_ENUM:
        hd_cli_enum_word(tmp, sizeof(tmp), f->descriptor, *(const int *)p);
        break;
    case PROTOBUF_C_TYPE_STRING:
        s = *(char *const *)p ? *(char *const *)p : "";
        break;
    case PROTOBUF_C_TYPE_BYTES:
        snprintf(tmp, sizeof(tmp), "(%zu bytes)", ((const ProtobufCBinaryData *)p)->len);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        if (m && strcmp(m->descriptor->name, "google.protobuf.Timestamp") == 0) {
            int64_t sec;
            int32_t ns;
            memcpy(&sec, (const char *)m + m->descriptor->fields[0].offset, sizeof(sec));
            memcpy(&ns, (const char *)m + m->descriptor->fields[1].offset, sizeof(ns));
            hd_cli_reltime(tmp, sizeof(tmp), sec * 1000 + ns / 1000000, now_ms);
        } else {
            s = m ? "{...}" : "";
        }
        break;
    }
    }
    if (*k < n) {
        int m = snprintf(buf + *k, n - *k, "%s", s);
        *k += m > 0 ? (size_t)m : 0;
        if (*k >= n)
            *k = n - 1;
    }
}

const char *hd_cli_field_text(char *buf, size_t n, const ProtobufCMessage *msg, const char *name,
                              int64_t now_ms)
{
    const ProtobufCFieldDescriptor *f = field_by_name(msg->descriptor, name);
    size_t k = 0;
    if (!f || n == 0)
        return NULL;
    buf[0] = '\0';
    const char *base = (const char *)msg;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t cnt;
        const char *arr;
        memcpy(&cnt, base + f->quantifier_offset, sizeof(cnt));
        memcpy(&arr, base + f->offset, sizeof(arr));
        for (size_t i = 0; i < cnt && k + 1 < n; i++) {
            if (i && k + 2 < n) {
                buf[k++] = ',';
                buf[k] = '\0';
            }
            value_text(buf, n, &k, f, arr + i * elem_size(f), now_ms);
        }
        return buf;
    }
    if (!present(msg, f))
        return buf;
    value_text(buf, n, &k, f, base + f->offset, now_ms);
    return buf;
}

static void fields_print(FILE *f, const ProtobufCMessage *msg, int64_t now_ms, int color,
                         int indent, int depth)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *fd = &d->fields[i];
        char label[128], text[1024];
        snprintf(label, sizeof(label), "%s", fd->name);
        for (char *p = label; *p; p++)
            *p = *p == '_' ? ' ' : *p;
        const void *p = (const char *)msg + fd->offset;
        int nested = fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                     fd->label != PROTOBUF_C_LABEL_REPEATED && *(ProtobufCMessage *const *)p &&
                     strcmp(((const ProtobufCMessageDescriptor *)fd->descriptor)->name,
                            "google.protobuf.Timestamp") != 0;
        if (nested) {
            if (depth < 4) {
                fprintf(f, "%*s%s%s%s\n", indent, "", color ? "\033[2m" : "", label,
                        color ? "\033[0m" : "");
                fields_print(f, *(ProtobufCMessage *const *)p, now_ms, color, indent + 2,
                             depth + 1);
            }
            continue;
        }
        if (fd->type == PROTOBUF_C_TYPE_MESSAGE && fd->label == PROTOBUF_C_LABEL_REPEATED &&
            strcmp(((const ProtobufCMessageDescriptor *)fd->descriptor)->name,
                   "google.protobuf.Timestamp") != 0) {
            size_t cnt;
            ProtobufCMessage **arr;
            memcpy(&cnt, (const char *)msg + fd->quantifier_offset, sizeof(cnt));
            memcpy(&arr, p, sizeof(arr));
            for (size_t k = 0; k < cnt && depth < 4; k++) {
                fprintf(f, "%*s%s%s[%zu]%s\n", indent, "", color ? "\033[2m" : "", label, k,
                        color ? "\033[0m" : "");
                fields_print(f, arr[k], now_ms, color, indent + 2, depth + 1);
            }
            continue;
        }
        hd_cli_field_text(text, sizeof(text), msg, fd->name, now_ms);
        if (!text[0])
            continue;
        for (char *q = text; *q; q++) {
            if (*q == '\n' || *q == '\r')
                *q = ' ';
        }
        fprintf(f, "%*s%s%-*s%s  %s\n", indent, "", color ? "\033[2m" : "",
                20 - indent > 8 ? 20 - indent : 8, label, color ? "\033[0m" : "", text);
    }
}

void hd_cli_fields_print(FILE *f, const ProtobufCMessage *msg, int64_t now_ms, int color)
{
    fields_print(f, msg, now_ms, color, 0, 0);
}
