/* The CLI's output forms: aligned tables (colour optional), protobuf-c messages as proto3
 * JSON built from their descriptors (so every command's --json follows the protos), enum
 * values as words, and times as RFC 3339 or relative ("5m ago"). No gRPC here. */
#ifndef HD_CLIENTS_CLI_OUTPUT_H
#define HD_CLIENTS_CLI_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/* Cell styles; ignored when the table is plain. */
enum {
    HD_CLI_STYLE_PLAIN = 0,
    HD_CLI_STYLE_BOLD,
    HD_CLI_STYLE_DIM,
    HD_CLI_STYLE_RED,
    HD_CLI_STYLE_GREEN,
    HD_CLI_STYLE_YELLOW,
    HD_CLI_STYLE_BLUE,
    HD_CLI_STYLE_CYAN,
};

typedef struct hd_cli_table hd_cli_table;

/* Creates a table with ncols columns headed by headers (copied). color nonzero styles
 * cells with ANSI escapes. Returns an owned table (hd_cli_table_free), NULL when out of
 * memory. */
hd_cli_table *hd_cli_table_new(const char *const *headers, size_t ncols, int color);

/* Frees the table. NULL is allowed. */
void hd_cli_table_free(hd_cli_table *t);

/* Appends a cell (text copied; NULL prints as empty) to the current row; a row is
 * complete after ncols cells. Returns 0, or -1 when out of memory. */
int hd_cli_table_cell(hd_cli_table *t, const char *text, int style);

/* Like hd_cli_table_cell with printf formatting. */
int hd_cli_table_cellf(hd_cli_table *t, int style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints header and rows with columns padded to their widest cell (UTF-8 aware), two
 * spaces apart, no trailing spaces. Returns the number of rows. */
size_t hd_cli_table_print(const hd_cli_table *t, FILE *f);

/* Converts msg to its proto3 JSON form: lowerCamelCase field names, default values left
 * out, 64-bit integers as strings, enums by name, bytes as base64, Timestamp as RFC 3339,
 * FieldMask as a comma-separated path string. Returns an owned value (json_decref), NULL
 * when out of memory. */
json_t *hd_cli_json_message(const ProtobufCMessage *msg);

/* Prints msg as indented JSON and a newline. Returns 0, -1 when out of memory. */
int hd_cli_json_print(FILE *f, const ProtobufCMessage *msg);

/* Prints value as indented JSON (keys in insertion order) and a newline. */
int hd_cli_json_dump(FILE *f, const json_t *value);

/* Writes the display word of an enum value into buf: lower case, the enum's prefix
 * removed, '_' as '-' ("in-progress" for TICKET_STATUS_IN_PROGRESS); the number for
 * values not in desc. Returns buf. */
const char *hd_cli_enum_word(char *buf, size_t n, const ProtobufCEnumDescriptor *desc, int value);

/* Parses a display word or full value name (any case, '-' or '_') of desc into *out.
 * Returns 0, or -1 when the word names no value. */
int hd_cli_enum_parse(const ProtobufCEnumDescriptor *desc, const char *word, int *out);

/* Writes the words of every value but the zero one, comma-separated, into buf (for error
 * messages and completion). Returns buf. */
const char *hd_cli_enum_words(char *buf, size_t n, const ProtobufCEnumDescriptor *desc,
                              const char *sep);

/* Writes seconds/nanos as RFC 3339 UTC with 0, 3, 6 or 9 fraction digits (proto3 JSON
 * form) into buf. Returns buf. */
const char *hd_cli_rfc3339(char *buf, size_t n, int64_t seconds, int32_t nanos);

/* Writes how long before now_ms t_ms was: "just now", "42s ago", "5m ago", "3h ago",
 * "2d ago", then the date ("2026-01-31"); "in 5m" for the future; "-" when t_ms is 0.
 * Returns buf. */
const char *hd_cli_reltime(char *buf, size_t n, int64_t t_ms, int64_t now_ms);

/* Writes the display form of field `name` of msg into buf: enums as words, Timestamps
 * relative to now_ms, bools yes/no, repeated values comma-separated, nested messages as
 * "{...}"; "" when the field is absent or default. Returns buf, or NULL when msg has no
 * such field. */
const char *hd_cli_field_text(char *buf, size_t n, const ProtobufCMessage *msg, const char *name,
                              int64_t now_ms);

/* Prints every present field of msg as `  label  value` lines (label = field name with
 * '_' as ' '), nested messages indented under their name. */
void hd_cli_fields_print(FILE *f, const ProtobufCMessage *msg, int64_t now_ms, int color);

/* Display width of UTF-8 text (code points; escape sequences not expected). */
size_t hd_cli_text_width(const char *s);

#endif
