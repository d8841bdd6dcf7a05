/* The CLI's settings file, ~/.config/helpdesk/config: a small INI file written by
 * `helpdesk login` (mode 0600, holds a token) and editable by hand.
 *
 *     # comments start with # or ;
 *     [default]
 *     server = 127.0.0.1:7070
 *     token = hd_...
 *     tls = false
 *     ca = /etc/ssl/helpdesk-ca.pem
 *     user = ada@example.com
 *     staff_id = 7
 *     token_id = 12
 *
 * Keys outside [default] (other sections) and unknown keys are ignored, so newer files
 * still load. The parser takes outside input: it has a fuzz target (tests/fuzz/cli). */
#ifndef HD_CLIENTS_CLI_CONFIG_H
#define HD_CLIENTS_CLI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "server/common/err.h"

/* Longest config file read, and longest value. */
#define HD_CLI_CONFIG_MAX       (64 * 1024)
#define HD_CLI_CONFIG_VALUE_MAX 4096

/* The settings; NULL/0 = not set. Strings are owned (hd_cli_config_clear frees them). */
typedef struct hd_cli_config {
    char *server;
    char *token;
    char *ca;
    int tls;           /* 1 true, 0 false or unset */
    char *user;        /* the logged-in staff member's email */
    uint64_t staff_id; /* their id ("me" in --assignee me); 0 = unknown */
    uint64_t token_id; /* the session token's id (what logout revokes); 0 = unknown */
} hd_cli_config;

/* Parses len bytes of INI text into *cfg (which must be zeroed or cleared first).
 * Returns HD_OK, or HD_EINVAL with "line N: ..." in err (cfg then holds what was parsed
 * before; clear it either way), HD_ETOOBIG past HD_CLI_CONFIG_MAX, HD_ENOMEM. */
int hd_cli_config_parse(hd_cli_config *cfg, const char *text, size_t len, hd_err *err);

/* Reads and parses the file at path. A missing file is an empty config (HD_OK). Returns
 * as hd_cli_config_parse, or HD_EIO (detail names the path). */
int hd_cli_config_load(hd_cli_config *cfg, const char *path, hd_err *err);

/* Writes cfg to path atomically (temp file + rename) with mode 0600, creating missing
 * parent directories with mode 0700. Returns HD_OK, HD_EINVAL (a value with a newline)
 * or HD_EIO. */
int hd_cli_config_save(const hd_cli_config *cfg, const char *path, hd_err *err);

/* Frees cfg's strings and zeroes it. NULL is allowed. */
void hd_cli_config_clear(hd_cli_config *cfg);

/* Replaces *slot (an owned string field of a config) with a copy of value (NULL clears).
 * Returns HD_OK or HD_ENOMEM. */
int hd_cli_config_set(char **slot, const char *value);

/* Writes the config file path into buf: $HELPDESK_CONFIG, else
 * $XDG_CONFIG_HOME/helpdesk/config, else $HOME/.config/helpdesk/config. Returns HD_OK or
 * HD_EINVAL (no HOME, or too long). */
int hd_cli_config_path(char *buf, size_t n, hd_err *err);

#endif
