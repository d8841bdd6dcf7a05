/* Reads and writes the CLI's INI settings file. The parser is strict about structure
 * (every non-blank line is a comment, a [section] or key = value) so a typo is reported
 * with its line instead of silently ignored, and lenient about unknown keys. */
#include "clients/cli/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void hd_cli_config_clear(hd_cli_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->server);
    free(cfg->token);
    free(cfg->ca);
    free(cfg->user);
    memset(cfg, 0, sizeof(*cfg));
}

int hd_cli_config_set(char **slot, const char *value)
{
    char *copy = NULL;
    if (value) {
        size_t n = strlen(value);
        copy = malloc(n + 1);
        if (!copy)
            return HD_ENOMEM;
        memcpy(copy, value, n + 1);
    }
    free(*slot);
    *slot = copy;
    return HD_OK;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims [*s, *e) of blanks on both ends. */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_space(**s))
        (*s)++;
    while (*e > *s && is_space((*e)[-1]))
        (*e)--;
}

static int parse_bool(const char *v, size_t n, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strlen(yes[i]) == n && strncasecmp(v, yes[i], n) == 0) {
            *out = 1;
            return 0;
        }
        if (strlen(no[i]) == n && strncasecmp(v, no[i], n) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int parse_id(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

static int key_is(const char *k, size_t n, const char *name)
{
    return strlen(name) == n && strncmp(k, name, n) == 0;
}

static int set_n(char **slot, const char *v, size_t n)
{
    char *copy = malloc(n + 1);
    if (!copy)
        return HD_ENOMEM;
    memcpy(copy, v, n);
    copy[n] = '\0';
    free(*slot);
    *slot = copy;
    return HD_OK;
}

int hd_cli_config_parse(hd_cli_config *cfg, const char *text, size_t len, hd_err *err)
{
    if (len > HD_CLI_CONFIG_MAX)
        return hd_err_set(err, HD_ETOOBIG, "larger than %d bytes", HD_CLI_CONFIG_MAX);
    int in_default = 1; /* keys before any section belong to [default] */
    size_t lineno = 0;
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3; /* UTF-8 byte order mark from some editors */
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *ls = p, *le = nl ? nl : end;
        p = nl ? nl + 1 : end;
        lineno++;
        if (le > ls && le[-1] == '\r')
            le--;
        trim(&ls, &le);
        if (ls == le || *ls == '#' || *ls == ';')
            continue;
        if (memchr(ls, '\0', (size_t)(le - ls)))
            return hd_err_set(err, HD_EINVAL, "line %zu: NUL byte", lineno);
        if (*ls == '[') {
            if (le[-1] != ']' || le - ls < 3)
                return hd_err_set(err, HD_EINVAL, "line %zu: want [section]", lineno);
            const char *ns = ls + 1, *ne = le - 1;
            trim(&ns, &ne);
            in_default = key_is(ns, (size_t)(ne - ns), "default");
            continue;
        }
        const char *eq = memchr(ls, '=', (size_t)(le - ls));
        if (!eq)
            return hd_err_set(err, HD_EINVAL, "line %zu: want key = value", lineno);
        const char *ks = ls, *ke = eq, *vs = eq + 1, *ve = le;
        trim(&ks, &ke);
        trim(&vs, &ve);
        if (ks == ke)
            return hd_err_set(err, HD_EINVAL, "line %zu: empty key", lineno);
        if (ve - vs >= 2 && (*vs == '"' || *vs == '\'') && ve[-1] == *vs) {
            vs++;
            ve--;
        }
        size_t kn = (size_t)(ke - ks), vn = (size_t)(ve - vs);
        if (vn >= HD_CLI_CONFIG_VALUE_MAX)
            return hd_err_set(err, HD_EINVAL, "line %zu: value longer than %d bytes", lineno,
                              HD_CLI_CONFIG_VALUE_MAX - 1);
        if (!in_default)
            continue;
        int rc = HD_OK;
        if (key_is(ks, kn, "server")) {
            rc = set_n(&cfg->server, vs, vn);
        } else if (key_is(ks, kn, "token")) {
            rc = set_n(&cfg->token, vs, vn);
        } else if (key_is(ks, kn, "ca")) {
            rc = set_n(&cfg->ca, vs, vn);
        } else if (key_is(ks, kn, "user")) {
            rc = set_n(&cfg->user, vs, vn);
        } else if (key_is(ks, kn, "staff_id")) {
            if (parse_id(vs, vn, &cfg->staff_id) != 0)
                return hd_err_set(err, HD_EINVAL, "line %zu: staff_id: want a number", lineno);
        } else if (key_is(ks, kn, "token_id")) {
            if (parse_id(vs, vn, &cfg->token_id) != 0)
                return hd_err_set(err, HD_EINVAL, "line %zu: token_id: want a number", lineno);
        } else if (key_is(ks, kn, "tls")) {
            if (parse_bool(vs, vn, &cfg->tls) != 0)
                return hd_err_set(err, HD_EINVAL, "line %zu: tls: want true or false", lineno);
        }
        if (rc != HD_OK)
            return hd_err_set(err, rc, "out of memory");
    }
    return HD_OK;
}

int hd_cli_config_load(hd_cli_config *cfg, const char *path, hd_err *err)
{
    int rc;
    char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return HD_OK;
        return hd_err_set(err, HD_EIO, "%s: %s", path, strerror(errno));
    }
    buf = malloc(HD_CLI_CONFIG_MAX + 1);
    if (!buf) {
        rc = hd_err_set(err, HD_ENOMEM, "out of memory");
        goto fail;
    }
    size_t n = fread(buf, 1, HD_CLI_CONFIG_MAX + 1, f);
    if (ferror(f)) {
        rc = hd_err_set(err, HD_EIO, "%s: read error", path);
        goto fail;
    }
    rc = hd_cli_config_parse(cfg, buf, n, err);
fail:
    free(buf);
    fclose(f);
    return rc;
}

/* Creates each missing directory on the way to path's parent, mode 0700. */
static int make_parents(const char *path, hd_err *err)
{
    char dir[4096];
    if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return hd_err_set(err, HD_EINVAL, "config path too long");
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return hd_err_set(err, HD_EIO, "mkdir %s: %s", dir, strerror(errno));
        *p = '/';
    }
    return HD_OK;
}

static int valid_value(const char *v)
{
    return !v || (!strchr(v, '\n') && !strchr(v, '\r') && strlen(v) < HD_CLI_CONFIG_VALUE_MAX);
}

/* Writes `key = value`, quoting a value whose outer characters the parser would otherwise
 * trim (blanks) or unquote (a quote character), so that it loads back unchanged. */
static void write_value(FILE *f, const char *key, const char *v)
{
    size_t n = strlen(v);
    int quote = n > 0 && (is_space(v[0]) || is_space(v[n - 1]) || v[0] == '"' || v[0] == '\'' ||
                          v[n - 1] == '"' || v[n - 1] == '\'');
    fprintf(f, quote ? "%s = \"%s\"\n" : "%s = %s\n", key, v);
}

int hd_cli_config_save(const hd_cli_config *cfg, const char *path, hd_err *err)
{
    char tmp[4096];
    int fd = -1;
    FILE *f = NULL;
    int rc;
    if (!valid_value(cfg->server) || !valid_value(cfg->token) || !valid_value(cfg->ca) ||
        !valid_value(cfg->user))
        return hd_err_set(err, HD_EINVAL, "config values must be one line");
    rc = make_parents(path, err);
    if (rc != HD_OK)
        return rc;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return hd_err_set(err, HD_EINVAL, "config path too long");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return hd_err_set(err, HD_EIO, "%s: %s", tmp, strerror(errno));
    f = fdopen(fd, "w");
    if (!f) {
        rc = hd_err_set(err, HD_EIO, "%s: %s", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    fprintf(f, "# helpdesk CLI settings (written by `helpdesk login`; holds a token: keep 0600)\n"
               "[default]\n");
    if (cfg->server)
        write_value(f, "server", cfg->server);
    if (cfg->token)
        write_value(f, "token", cfg->token);
    if (cfg->tls)
        fprintf(f, "tls = true\n");
    if (cfg->ca)
        write_value(f, "ca", cfg->ca);
    if (cfg->user)
        write_value(f, "user", cfg->user);
    if (cfg->staff_id)
        fprintf(f, "staff_id = %" PRIu64 "\n", cfg->staff_id);
    if (cfg->token_id)
        fprintf(f, "token_id = %" PRIu64 "\n", cfg->token_id);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = hd_err_set(err, HD_EIO, "%s: %s", tmp, strerror(errno));
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        rc = hd_err_set(err, HD_EIO, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        rc = hd_err_set(err, HD_EIO, "rename to %s: %s", path, strerror(errno));
        goto fail;
    }
    return HD_OK;
fail:
    unlink(tmp);
    return rc;
}

int hd_cli_config_path(char *buf, size_t n, hd_err *err)
{
    const char *explicit_path = getenv("HELPDESK_CONFIG");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int m;
    if (explicit_path && *explicit_path)
        m = snprintf(buf, n, "%s", explicit_path);
    else if (xdg && *xdg == '/')
        m = snprintf(buf, n, "%s/helpdesk/config", xdg);
    else if (home && *home)
        m = snprintf(buf, n, "%s/.config/helpdesk/config", home);
    else
        return hd_err_set(err, HD_EINVAL, "no HOME to find the config file in");
    if (m < 0 || (size_t)m >= n)
        return hd_err_set(err, HD_EINVAL, "config path too long");
    return HD_OK;
}
