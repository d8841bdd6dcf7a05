/* Checks of outside input shared by every domain module: UTF-8, single-line text, email
 * syntax, identifier character sets. Pure functions: no allocation, no error text; callers
 * name the field in their own hd_err detail. */
#ifndef HD_VALIDATE_VALIDATE_H
#define HD_VALIDATE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest email address accepted (RFC 5321 path limit minus the angle brackets). */
#define HD_VALIDATE_EMAIL_MAX 254

/* Returns true when the n bytes at s are well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). NUL bytes are allowed; n == 0 is valid. */
bool hd_validate_utf8(const char *s, size_t n);

/* Returns the number of code points in the n bytes at s, which must be valid UTF-8. */
size_t hd_validate_utf8_chars(const char *s, size_t n);

/* Returns true when none of the n bytes at s is CR or LF. */
bool hd_validate_single_line(const char *s, size_t n);

/* Returns true when the n bytes at s are 0x20..0x7E (printable ASCII, space included). */
bool hd_validate_printable_ascii(const char *s, size_t n);

/* Returns true when every one of the n bytes at s appears in the NUL-terminated set. */
bool hd_validate_charset(const char *s, size_t n, const char *set);

/* Returns true when s (n bytes) is a plausible email address: exactly one '@' with a
 * non-empty local part (<= 64 bytes) and a domain of dot-separated labels of letters, digits
 * and '-' (no empty label, no leading/trailing '-'); no spaces, control characters, quotes,
 * angle brackets, commas or semicolons anywhere; at most HD_VALIDATE_EMAIL_MAX bytes. UTF-8
 * in the local part is accepted (RFC 6531); the domain must be ASCII (IDNA A-labels). */
bool hd_validate_email(const char *s, size_t n);

#endif
