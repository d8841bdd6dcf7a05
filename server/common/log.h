/* Structured logs: one line per event, `ts=... level=... event=... key=value ...`, to
 * stderr (or a file). Thread-safe; each line is written with a single write(2). */
#ifndef HD_COMMON_LOG_H
#define HD_COMMON_LOG_H

typedef enum hd_log_level {
    HD_LOG_DEBUG = 0,
    HD_LOG_INFO = 1,
    HD_LOG_WARN = 2,
    HD_LOG_ERROR = 3,
} hd_log_level;

/* Sets the lowest level written (default HD_LOG_INFO). */
void hd_log_set_level(hd_log_level level);

/* Parses "debug", "info", "warn" or "error" into *out; returns 0 or HD_EINVAL. */
int hd_log_parse_level(const char *s, hd_log_level *out);

/* Sends log lines to fd (default 2). The fd stays the caller's. */
void hd_log_set_fd(int fd);

/* Returns nonzero when level would be written (skip building expensive fields). */
int hd_log_enabled(hd_log_level level);

/* Writes `ts=<RFC 3339 UTC ms> level=<level> event=<event> <fields>\n`. fields is a
 * printf format of further key=value pairs (may be NULL); values with spaces must be
 * quoted by the caller with hd_log_quote. Lines longer than 4 KiB are truncated. */
void hd_log(hd_log_level level, const char *event, const char *fields, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies s into buf (size n) as a log-safe value: quoted with "..." and with quotes,
 * backslashes and control characters escaped when needed. Returns buf. */
const char *hd_log_quote(char *buf, unsigned n, const char *s);

#endif
