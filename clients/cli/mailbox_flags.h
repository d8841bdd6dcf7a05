/* Values of the `helpdesk mailbox` flags, kept apart from the command (clients/cli/mailbox.c)
 * so unit tests reach them: durations, sizes, on/off words, secrets read from a file or
 * stdin, and which Mailbox field each flag sets (the UpdateMailbox field mask). No gRPC. */
#ifndef HD_CLIENTS_CLI_MAILBOX_FLAGS_H
#define HD_CLIENTS_CLI_MAILBOX_FLAGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Longest secret accepted from a password file or prompt, in bytes. */
#define HD_CLI_SECRET_MAX 1024

/* Parses a duration: a whole number of seconds ("90"), or with a unit s, m, h or d ("90s",
 * "15m", "2h", "7d"). Writes seconds into *out. Returns 0, or -1 when malformed, negative
 * or above max_s (*out untouched). */
int hd_cli_parse_seconds(const char *s, uint64_t max_s, uint64_t *out);

/* Parses a size in bytes: a whole number ("1048576") or with a binary unit K, M or G,
 * optionally followed by "iB" or "B" ("512K", "25MiB", "1GB" = 1024^3). Writes bytes into
 * *out. Returns 0, or -1 when malformed or above 2^53 (*out untouched). */
int hd_cli_parse_bytes(const char *s, uint64_t *out);

/* Parses on|off, yes|no, true|false or 1|0 (any case) into *out (1 or 0). Returns 0, or -1
 * for any other word (*out untouched). */
int hd_cli_parse_onoff(const char *s, int *out);

/* Reads a secret (a password) from f: the first line without its line ending (LF or CRLF);
 * the rest of f is ignored. Writes it NUL-terminated into buf (n bytes, at most
 * HD_CLI_SECRET_MAX + 1 useful). Returns 0, or -1 with *why set to a static reason ("is
 * empty", "is longer than 1024 bytes", "contains a control character") - a secret with
 * CR, LF, NUL or another control character could not be sent to an IMAP or SMTP server
 * intact. */
int hd_cli_read_secret(FILE *f, char *buf, size_t n, const char **why);

/* The helpdesk.v1.Mailbox field (proto name, as used in update_mask) that command flag
 * `flag` (without "--") sets; NULL for flags that set no field. Static strings. */
const char *hd_cli_mailbox_field_of(const char *flag);

/* Flag i (0-based) of those hd_cli_mailbox_field_of knows, NULL past the last. Static. */
const char *hd_cli_mailbox_flag_at(size_t i);

#endif
