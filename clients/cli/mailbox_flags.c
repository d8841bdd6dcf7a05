/* Flag values of `helpdesk mailbox` (see mailbox_flags.h). */
#include "clients/cli/mailbox_flags.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Largest size accepted: 2^53, far above any mail limit, and exact in a JSON number. */
#define BYTES_MAX (UINT64_C(1) << 53)

/* Parses the leading digits of s into *v (no sign, at least one digit, no overflow).
 * Returns the first byte after them, or NULL. */
static const char *digits(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return NULL;
    for (; isdigit((unsigned char)*p); p++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return NULL;
        x = x * 10 + d;
    }
    *v = x;
    return p;
}

int hd_cli_parse_seconds(const char *s, uint64_t max_s, uint64_t *out)
{
    uint64_t v, mul;
    const char *p = s ? digits(s, &v) : NULL;
    if (!p)
        return -1;
    if (strcmp(p, "") == 0 || strcmp(p, "s") == 0)
        mul = 1;
    else if (strcmp(p, "m") == 0)
        mul = 60;
    else if (strcmp(p, "h") == 0)
        mul = 3600;
    else if (strcmp(p, "d") == 0)
        mul = 86400;
    else
        return -1;
    if (v > max_s / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int hd_cli_parse_bytes(const char *s, uint64_t *out)
{
    uint64_t v, mul = 1;
    const char *p = s ? digits(s, &v) : NULL;
    if (!p)
        return -1;
    switch (toupper((unsigned char)*p)) {
    case '\0':
        break;
    case 'K':
        mul = UINT64_C(1) << 10;
        break;
    case 'M':
        mul = UINT64_C(1) << 20;
        break;
    case 'G':
        mul = UINT64_C(1) << 30;
        break;
    default:
        return -1;
    }
    if (*p) {
        p++;
        if (strcasecmp(p, "") != 0 && strcasecmp(p, "b") != 0 && strcasecmp(p, "ib") != 0)
            return -1;
    }
    if (v > BYTES_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

int hd_cli_parse_onoff(const char *s, int *out)
{
    static const char *const on[] = {"on", "yes", "true", "1"};
    static const char *const off[] = {"off", "no", "false", "0"};
    if (!s)
        return -1;
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        if (strcasecmp(s, on[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, off[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

int hd_cli_read_secret(FILE *f, char *buf, size_t n, const char **why)
{
    size_t len = 0;
    int c;
    bool cr = false;
    if (n == 0) {
        *why = "has no room";
        return -1;
    }
    while ((c = getc(f)) != EOF && c != '\n') {
        if (cr) { /* a CR not followed by LF is inside the secret */
            *why = "contains a control character";
            return -1;
        }
        if (c == '\r') {
            cr = true;
            continue;
        }
        if (iscntrl((unsigned char)c) || c == 0) {
            *why = "contains a control character";
            return -1;
        }
        if (len + 1 >= n || len >= HD_CLI_SECRET_MAX) {
            *why = "is longer than 1024 bytes";
            return -1;
        }
        buf[len++] = (char)c;
    }
    buf[len] = '\0';
    if (len == 0) {
        *why = "is empty";
        return -1;
    }
    return 0;
}

/* flag -> Mailbox field. Several flags may set one field (a value or its file/prompt). */
static const struct {
    const char *flag;
    const char *field;
} fields[] = {
    {"name", "name"},
    {"imap-url", "imap_url"},
    {"user", "imap_username"},
    {"password-file", "imap_password"},
    {"ask-password", "imap_password"},
    {"folder", "folder"},
    {"poll-interval", "poll_interval_seconds"},
    {"group", "group_id"},
    {"category", "category"},
    {"priority", "priority"},
    {"mail-tls", "tls"},
    {"ca-file", "ca_file"},
    {"after-fetch", "after_fetch"},
    {"processed-folder", "processed_folder"},
    {"max-message-size", "max_message_bytes"},
    {"ack", "acknowledge"},
    {"ack-template", "ack_template"},
    {"ack-template-file", "ack_template"},
    {"smtp-url", "smtp_url"},
    {"smtp-user", "smtp_username"},
    {"smtp-password-file", "smtp_password"},
    {"ask-smtp-password", "smtp_password"},
    {"from-address", "from_address"},
    {"from-name", "from_name"},
    {"enabled", "enabled"},
    {"reopen-grace", "reopen_grace_seconds"},
};

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

const char *hd_cli_mailbox_field_of(const char *flag)
{
    for (size_t i = 0; flag && i < N_FIELDS; i++)
        if (strcmp(fields[i].flag, flag) == 0)
            return fields[i].field;
    return NULL;
}

const char *hd_cli_mailbox_flag_at(size_t i)
{
    return i < N_FIELDS ? fields[i].flag : NULL;
}
