/* Structured, line-atomic logging. */
#include "server/common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "server/common/err.h"

static atomic_int g_level = HD_LOG_INFO;
static atomic_int g_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void hd_log_set_level(hd_log_level level)
{
    atomic_store(&g_level, (int)level);
}

int hd_log_parse_level(const char *s, hd_log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (s && strcasecmp(s, level_names[i]) == 0) {
            *out = (hd_log_level)i;
            return HD_OK;
        }
    }
    return HD_EINVAL;
}

void hd_log_set_fd(int fd)
{
    atomic_store(&g_fd, fd);
}

int hd_log_enabled(hd_log_level level)
{
    return (int)level >= atomic_load(&g_level);
}

void hd_log(hd_log_level level, const char *event, const char *fields, ...)
{
    if (!hd_log_enabled(level))
        return;
    char line[4096];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n =
        snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=%s",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level & 3], event);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (fields && *fields && len < sizeof(line) - 2) {
        line[len++] = ' ';
        va_list ap;
        va_start(ap, fields);
        int m = vsnprintf(line + len, sizeof(line) - len, fields, ap);
        va_end(ap);
        if (m > 0)
            len += (size_t)m < sizeof(line) - len ? (size_t)m : sizeof(line) - len - 1;
    }
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(atomic_load(&g_fd), line, len);
    (void)w;
}

const char *hd_log_quote(char *buf, unsigned n, const char *s)
{
    if (!n)
        return buf;
    int plain = *s != '\0';
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == '"' || c == '\\' || c == '=' || c == 0x7f)
            plain = 0;
    }
    if (plain) {
        snprintf(buf, n, "%s", s);
        return buf;
    }
    unsigned j = 0;
    if (j + 1 < n)
        buf[j++] = '"';
    for (const char *p = s; *p && j + 5 < n; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            buf[j++] = '\\';
            buf[j++] = (char)c;
        } else if (c < ' ' || c == 0x7f) {
            j += (unsigned)snprintf(buf + j, n - j, "\\x%02x", c);
        } else {
            buf[j++] = (char)c;
        }
    }
    if (j + 1 < n)
        buf[j++] = '"';
    buf[j < n ? j : n - 1] = '\0';
    return buf;
}
