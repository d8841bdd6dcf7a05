/* INI parsing for the reporter: `[section]` or `[kind name]` headers, `key = value` lines,
 * `#`/`;` comments. Every problem names the file and line; unknown keys are errors (a typo
 * must not silently drop a recipient). */
#include "reporter/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reporter/cron.h"
#include "reporter/localtz.h"
#include "server/validate/validate.h"

#define CONFIG_LINE_MAX  4096
#define CONFIG_ITEMS_MAX 64

static const char *const section_names[HD_SECTION_COUNT] = {
    "summary", "volume", "sla", "times", "agents", "mix", "heatmap", "csat", "breaches"};

const char *hd_config_section_name(unsigned bit)
{
    for (int i = 0; i < HD_SECTION_COUNT; i++)
        if (bit == 1u << i)
            return section_names[i];
    return NULL;
}

/* Calls fn for each trimmed, non-empty comma-separated item of list; stops at the first
 * nonzero return and returns it. */
static int each_item(const char *list, int (*fn)(void *, const char *), void *ud)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *s = p;
        while (*p && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            char item[HD_CONFIG_VALUE_MAX];
            size_t n = (size_t)(e - s) < sizeof item - 1 ? (size_t)(e - s) : sizeof item - 1;
            memcpy(item, s, n);
            item[n] = 0;
            int rc = fn(ud, item);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int add_section(void *ud, const char *item)
{
    unsigned *bits = ud;
    if (!strcmp(item, "all")) {
        *bits |= HD_SECTION_ALL;
        return 0;
    }
    for (int i = 0; i < HD_SECTION_COUNT; i++)
        if (!strcmp(item, section_names[i])) {
            *bits |= 1u << i;
            return 0;
        }
    return -1;
}

unsigned hd_config_sections(const char *list)
{
    unsigned bits = 0;
    if (each_item(list, add_section, &bits))
        return 0;
    return bits;
}

static int add_format(void *ud, const char *item)
{
    unsigned *bits = ud;
    if (!strcmp(item, "xlsx"))
        *bits |= HD_FORMAT_XLSX;
    else if (!strcmp(item, "csv"))
        *bits |= HD_FORMAT_CSV;
    else
        return -1;
    return 0;
}

static int add_recipient(void *ud, const char *item)
{
    hd_config_schedule *s = ud;
    if (s->n_recipients == HD_CONFIG_RECIPIENTS_MAX)
        return -2;
    if (!hd_validate_email(item, strlen(item)))
        return -1;
    if (strlen(item) >= HD_CONFIG_EMAIL_MAX)
        return -1;
    snprintf(s->recipients[s->n_recipients++], HD_CONFIG_EMAIL_MAX, "%s", item);
    return 0;
}

typedef struct parser {
    hd_config *cfg;
    const char *name;
    int line;
    hd_err *err;
    enum { SEC_NONE, SEC_SERVER, SEC_SMTP, SEC_OUTPUT, SEC_REPORT, SEC_SCHEDULE } sec;
} parser;

static int perr(parser *p, const char *msg, const char *arg)
{
    return hd_err_set(p->err, HD_EINVAL, "%s:%d: %s%s%s", p->name, p->line, msg, arg ? ": " : "",
                      arg ? arg : "");
}

static int set_str(parser *p, char *dst, const char *value)
{
    if (strlen(value) >= HD_CONFIG_VALUE_MAX)
        return perr(p, "value too long", NULL);
    snprintf(dst, HD_CONFIG_VALUE_MAX, "%s", value);
    return 0;
}

static int set_name(parser *p, char *dst, const char *value)
{
    if (!*value || strlen(value) >= HD_CONFIG_NAME_MAX ||
        !hd_validate_charset(value, strlen(value),
                             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./+"))
        return perr(p, "expected a name of letters, digits, _-./+", value);
    snprintf(dst, HD_CONFIG_NAME_MAX, "%s", value);
    return 0;
}

static int set_int(parser *p, int *dst, const char *value, int lo, int hi)
{
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (errno || end == value || *end || v < lo || v > hi) {
        char range[64];
        snprintf(range, sizeof range, "%s (expected %d-%d)", value, lo, hi);
        return perr(p, "bad number", range);
    }
    *dst = (int)v;
    return 0;
}

static int set_tz(parser *p, char *dst, const char *value)
{
    if (!hd_localtz_valid(value))
        return perr(p, "unknown time zone", value);
    snprintf(dst, HD_CONFIG_NAME_MAX, "%s", value);
    return 0;
}

static int key_report(parser *p, hd_config_report *r, const char *k, const char *v)
{
    if (!strcmp(k, "title"))
        return set_str(p, r->title, v);
    if (!strcmp(k, "sections")) {
        r->sections = hd_config_sections(v);
        return r->sections ? 0 : perr(p, "unknown section in list", v);
    }
    if (!strcmp(k, "period")) {
        static const char *const periods[] = {"last_7_days", "last_week", "last_30_days",
                                              "last_month"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(v, periods[i])) {
                r->period = (hd_period)(i + 1);
                return 0;
            }
        return perr(p, "period must be last_7_days, last_week, last_30_days or last_month", v);
    }
    if (!strcmp(k, "grouping")) {
        if (!strcmp(v, "day") || !strcmp(v, "week")) {
            r->grouping = v[0] == 'd' ? HD_GROUP_DAY : HD_GROUP_WEEK;
            return 0;
        }
        return perr(p, "grouping must be day or week", v);
    }
    if (!strcmp(k, "tz"))
        return set_tz(p, r->tz, v);
    if (!strcmp(k, "filter.priority")) {
        static const char *const prios[] = {"urgent", "high", "normal", "low"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(v, prios[i])) {
                r->priority = i + 1;
                return 0;
            }
        return perr(p, "filter.priority must be urgent, high, normal or low", v);
    }
    if (!strcmp(k, "filter.category"))
        return set_name(p, r->category, v);
    if (!strcmp(k, "filter.group"))
        return set_name(p, r->group, v);
    return perr(p, "unknown key in [report]", k);
}

static int key_schedule(parser *p, hd_config_schedule *s, const char *k, const char *v)
{
    if (!strcmp(k, "report"))
        return set_name(p, s->report, v);
    if (!strcmp(k, "cron")) {
        hd_cron c;
        hd_err e;
        if (hd_cron_parse(&c, v, &e))
            return perr(p, e.detail, v);
        return set_str(p, s->cron, v);
    }
    if (!strcmp(k, "tz"))
        return set_tz(p, s->tz, v);
    if (!strcmp(k, "formats")) {
        s->formats = 0;
        if (each_item(v, add_format, &s->formats) || !s->formats)
            return perr(p, "formats must be a list of xlsx, csv", v);
        return 0;
    }
    if (!strcmp(k, "recipients")) {
        s->n_recipients = 0;
        int rc = each_item(v, add_recipient, s);
        if (rc == -2)
            return perr(p, "too many recipients", NULL);
        if (rc || !s->n_recipients)
            return perr(p, "recipients must be a comma-separated list of addresses", v);
        return 0;
    }
    return perr(p, "unknown key in [schedule]", k);
}

static int key_value(parser *p, const char *k, const char *v)
{
    hd_config *c = p->cfg;
    switch (p->sec) {
    case SEC_SERVER:
        if (!strcmp(k, "target"))
            return set_str(p, c->target, v);
        if (!strcmp(k, "token_file"))
            return set_str(p, c->token_file, v);
        return perr(p, "unknown key in [server]", k);
    case SEC_SMTP:
        if (!strcmp(k, "url")) {
            if (strncmp(v, "smtp://", 7) && strncmp(v, "smtps://", 8))
                return perr(p, "url must start with smtp:// or smtps://", v);
            return set_str(p, c->smtp_url, v);
        }
        if (!strcmp(k, "from")) {
            if (!hd_validate_email(v, strlen(v)))
                return perr(p, "from is not an email address", v);
            return set_str(p, c->smtp_from, v);
        }
        if (!strcmp(k, "username"))
            return set_str(p, c->smtp_user, v);
        if (!strcmp(k, "password_file"))
            return set_str(p, c->smtp_password_file, v);
        if (!strcmp(k, "retries"))
            return set_int(p, &c->smtp_retries, v, 0, 20);
        return perr(p, "unknown key in [smtp]", k);
    case SEC_OUTPUT:
        if (!strcmp(k, "dir"))
            return set_str(p, c->out_dir, v);
        if (!strcmp(k, "state_file"))
            return set_str(p, c->state_file, v);
        if (!strcmp(k, "retention_days"))
            return set_int(p, &c->retention_days, v, 0, 3650);
        return perr(p, "unknown key in [output]", k);
    case SEC_REPORT:
        return key_report(p, &c->reports[c->n_reports - 1], k, v);
    case SEC_SCHEDULE:
        return key_schedule(p, &c->schedules[c->n_schedules - 1], k, v);
    case SEC_NONE:
        break;
    }
    return perr(p, "key outside a section", k);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static int header(parser *p, char *h)
{
    hd_config *c = p->cfg;
    char *sp = strpbrk(h, " \t");
    char *arg = NULL;
    if (sp) {
        *sp = 0;
        arg = trim(sp + 1);
    }
    if (!strcmp(h, "server") || !strcmp(h, "smtp") || !strcmp(h, "output")) {
        if (arg)
            return perr(p, "section takes no name", h);
        p->sec = h[1] == 'e' ? SEC_SERVER : h[1] == 'm' ? SEC_SMTP : SEC_OUTPUT;
        return 0;
    }
    bool is_report = !strcmp(h, "report");
    if (!is_report && strcmp(h, "schedule"))
        return perr(p,
                    "unknown section (expected server, smtp, output, report NAME, schedule "
                    "NAME)",
                    h);
    if (!arg || !*arg)
        return perr(p, "section needs a name", h);
    if ((is_report ? c->n_reports : c->n_schedules) == CONFIG_ITEMS_MAX)
        return perr(p, "too many sections", h);
    char name[HD_CONFIG_NAME_MAX];
    int rc = set_name(p, name, arg);
    if (rc)
        return rc;
    if (is_report) {
        if (hd_config_find_report(c, name))
            return perr(p, "duplicate report", name);
        hd_config_report *r = &c->reports[c->n_reports++];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name);
        snprintf(r->title, sizeof r->title, "%s", name);
        snprintf(r->tz, sizeof r->tz, "UTC");
        r->sections = HD_SECTION_ALL;
        r->period = HD_PERIOD_LAST_WEEK;
        r->grouping = HD_GROUP_DAY;
        r->line = p->line;
        p->sec = SEC_REPORT;
    } else {
        for (size_t i = 0; i < c->n_schedules; i++)
            if (!strcmp(c->schedules[i].name, name))
                return perr(p, "duplicate schedule", name);
        hd_config_schedule *s = &c->schedules[c->n_schedules++];
        memset(s, 0, sizeof *s);
        snprintf(s->name, sizeof s->name, "%s", name);
        snprintf(s->tz, sizeof s->tz, "UTC");
        s->formats = HD_FORMAT_XLSX;
        s->line = p->line;
        p->sec = SEC_SCHEDULE;
    }
    return 0;
}

/* Cross-section checks once everything is read. */
static int finish(parser *p)
{
    hd_config *c = p->cfg;
    for (size_t i = 0; i < c->n_schedules; i++) {
        hd_config_schedule *s = &c->schedules[i];
        p->line = s->line;
        if (!*s->report)
            return perr(p, "schedule has no report", s->name);
        if (!hd_config_find_report(c, s->report))
            return perr(p, "schedule names an unknown report", s->report);
        if (!*s->cron)
            return perr(p, "schedule has no cron", s->name);
        if (s->n_recipients && (!*c->smtp_url || !*c->smtp_from))
            return perr(p, "schedule has recipients but [smtp] has no url or from", s->name);
    }
    if (!*c->state_file) {
        if (strlen(c->out_dir) + sizeof "/state" > sizeof c->state_file)
            return perr(p, "[output] dir too long", NULL);
        memcpy(c->state_file, c->out_dir, strlen(c->out_dir));
        memcpy(c->state_file + strlen(c->out_dir), "/state", sizeof "/state");
    }
    return 0;
}

int hd_config_parse(hd_config **out, const char *name, const char *text, size_t len, hd_err *err)
{
    *out = NULL;
    int rc = HD_ENOMEM;
    hd_config *c = calloc(1, sizeof *c);
    if (!c)
        goto fail;
    c->reports = calloc(CONFIG_ITEMS_MAX, sizeof *c->reports);
    c->schedules = calloc(CONFIG_ITEMS_MAX, sizeof *c->schedules);
    if (!c->reports || !c->schedules)
        goto fail;
    snprintf(c->target, sizeof c->target, "127.0.0.1:7070");
    snprintf(c->out_dir, sizeof c->out_dir, "reports");
    c->smtp_retries = 3;
    parser p = {.cfg = c, .name = name, .line = 0, .err = err, .sec = SEC_NONE};
    size_t pos = 0;
    char line[CONFIG_LINE_MAX];
    while (pos < len) {
        p.line++;
        size_t start = pos;
        while (pos < len && text[pos] != '\n')
            pos++;
        size_t n = pos - start;
        if (pos < len)
            pos++;
        rc = HD_EINVAL;
        if (n >= sizeof line) {
            perr(&p, "line too long", NULL);
            goto fail;
        }
        if (memchr(text + start, 0, n) || !hd_validate_utf8(text + start, n)) {
            perr(&p, "not UTF-8 text", NULL);
            goto fail;
        }
        memcpy(line, text + start, n);
        line[n] = 0;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *e = strchr(s, ']');
            if (!e || trim(e + 1)[0]) {
                perr(&p, "expected [section]", s);
                goto fail;
            }
            *e = 0;
            rc = header(&p, trim(s + 1));
        } else {
            char *eq = strchr(s, '=');
            if (!eq) {
                perr(&p, "expected key = value", s);
                goto fail;
            }
            *eq = 0;
            char *k = trim(s), *v = trim(eq + 1);
            if (!*k) {
                perr(&p, "empty key", NULL);
                goto fail;
            }
            rc = key_value(&p, k, v);
        }
        if (rc)
            goto fail;
    }
    rc = finish(&p);
    if (rc)
        goto fail;
    *out = c;
    return 0;
fail:
    if (rc == HD_ENOMEM)
        hd_err_set(err, HD_ENOMEM, "%s: out of memory", name);
    hd_config_free(c);
    return rc;
}

int hd_config_load(hd_config **out, const char *path, hd_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return hd_err_set(err, HD_EIO, "%s: %s", path, strerror(errno));
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    int toolong = buf && !feof(f);
    fclose(f);
    if (!buf)
        return hd_err_set(err, HD_ENOMEM, "%s: out of memory", path);
    if (toolong) {
        free(buf);
        return hd_err_set(err, HD_EINVAL, "%s: larger than 1 MiB", path);
    }
    int rc = hd_config_parse(out, path, buf, n, err);
    free(buf);
    return rc;
}

const hd_config_report *hd_config_find_report(const hd_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_reports; i++)
        if (!strcmp(cfg->reports[i].name, name))
            return &cfg->reports[i];
    return NULL;
}

void hd_config_free(hd_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->reports);
    free(cfg->schedules);
    free(cfg);
}
