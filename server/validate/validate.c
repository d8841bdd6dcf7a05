/* Input checks (see validate.h). Byte-level and allocation-free so they can run on every
 * request field before anything is copied. */
#include "server/validate/validate.h"

#include <string.h>

bool hd_validate_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1Fu;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0Fu;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07u;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0u) != 0x80u)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3Fu);
        }
        if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)))
            return false;
        if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))
            return false;
        i += len;
    }
    return true;
}

size_t hd_validate_utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char)s[i] & 0xC0u) != 0x80u)
            chars++;
    }
    return chars;
}

bool hd_validate_single_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' || s[i] == '\n')
            return false;
    }
    return true;
}

bool hd_validate_printable_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7E)
            return false;
    }
    return true;
}

bool hd_validate_charset(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0' || !strchr(set, s[i]))
            return false;
    }
    return true;
}

static bool domain_ok(const char *d, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0 || d[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 && d[n - 1] != '-';
}

bool hd_validate_email(const char *s, size_t n)
{
    const char *at = NULL;
    if (n == 0 || n > HD_VALIDATE_EMAIL_MAX || !hd_validate_utf8(s, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7F || strchr("\"<>(),;:[]\\", c))
            return false;
        if (c == '@') {
            if (at)
                return false;
            at = s + i;
        }
    }
    if (!at)
        return false;
    size_t local = (size_t)(at - s);
    if (local == 0 || local > 64)
        return false;
    if (s[0] == '.' || s[local - 1] == '.' || memmem(s, local, "..", 2))
        return false;
    return domain_ok(at + 1, n - local - 1);
}
