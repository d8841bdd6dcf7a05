/* `helpdesk demo seed`: fills a server, through the public API only, with a living helpdesk
 * (organizations, customers, groups, staff, tickets across channels, priorities and
 * categories, replies, notes, assignments, escalations, merges, links, solved, reopened
 * and closed tickets, CSAT ratings). Everything follows from --seed: the same seed gives
 * the same helpdesk. Tickets are created in one sequence (numbers stay reproducible); the
 * work on them runs on several threads, each ticket's story in its own order.
 *
 * Tickets are opened at historical times (CreateTicketRequest.create_time, which needs the
 * tickets.import permission the bootstrap admin holds) over the last --days days, more on
 * weekdays and in business hours (UTC), so reports and the dashboard have history; the staff's
 * work on them (assign, replies, notes, escalations, solves, closes) follows at historical
 * times too (the requests' `time`, sent by the admin: agents cannot import). Customers cannot
 * import, so what they do (follow-ups, reopening, ratings) happens now and everything after it in
 * that story as well: follow-ups come only on the last two days' tickets. Older tickets are more
 * likely solved and closed. */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clients/cli/cli.h"
#include "helpdesk/v1/auth.pb-c.h"
#include "helpdesk/v1/customers.pb-c.h"
#include "helpdesk/v1/staff.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define T_SVC                    "/helpdesk.v1.TicketService/"
#define DEMO_PASSWORD            "helpdesk-demo-password"
#define DEMO_THREADS             8
#define DEMO_MAX                 200000
#define DEMO_NGROUPS             4
#define AGENTS_PER_GRP           4
#define GRPC_FAILED_PRECONDITION 9

/* --- deterministic randomness ------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    /* splitmix64: good enough for a demo and identical everywhere. */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rng_below(rng *r, uint32_t n)
{
    return n ? (uint32_t)(rng_next(r) % n) : 0;
}

static int rng_chance(rng *r, uint32_t percent)
{
    return rng_below(r, 100) < percent;
}

/* Picks an index by integer weights. */
static size_t rng_weighted(rng *r, const uint32_t *w, size_t n)
{
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    uint32_t x = rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* --- the material ------------------------------------------------------------------- */

static const char *const first_names[] = {
    "Ada",  "Grace", "Alan",  "Linus", "Margaret", "Ken",   "Barbara", "Dennis", "Frances",
    "John", "Radia", "Tim",   "Hedy",  "Edsger",   "Sofia", "Yusuf",   "Amara",  "Kenji",
    "Lena", "Mateo", "Priya", "Omar",  "Chloe",    "Ivan",  "Noor",    "Felix",  "Zara"};
static const char *const last_names[] = {
    "Lovelace", "Hopper", "Turing",  "Torvalds", "Hamilton", "Thompson", "Liskov", "Ritchie",
    "Allen",    "Backus", "Perlman", "Berners",  "Lamarr",   "Dijkstra", "Costa",  "Demir",
    "Okafor",   "Sato",   "Berg",    "Rossi",    "Nair",     "Haddad",   "Martin", "Petrov"};
static const char *const org_names[] = {
    "Acme",    "Globex",    "Initech",   "Umbrella", "Hooli",      "Stark",    "Wayne",
    "Tyrell",  "Cyberdyne", "Soylent",   "Vandelay", "Wonka",      "Aperture", "Oceanic",
    "Massive", "Nakatomi",  "Gringotts", "Monarch",  "Pied Piper", "Dunder"};

typedef struct category {
    const char *name;
    const char *group; /* group that handles it */
    const char *subjects[4];
    const char *body;
} category;

static const category categories[] = {
    {"billing",
     "billing",
     {"Invoice %u charged twice", "Refund for order #%u", "Update the card on file",
      "VAT missing on invoice %u"},
     "Hello,\n\nI was looking at our account and something is off with billing (ref %u). "
     "Could you have a look?\n\nThanks"},
    {"login",
     "technical",
     {"Cannot log in after password reset", "Two-factor code never arrives",
      "Locked out of account %u", "SSO login loops back to the start page"},
     "Hi,\n\nSince this morning I cannot get into my account (case %u). I tried a reset "
     "twice. Please help, I need access for a meeting."},
    {"bug",
     "technical",
     {"App crashes on startup", "Export stops at %u%%", "Error 500 when saving a report",
      "Dashboard shows yesterday's numbers"},
     "Hi team,\n\nThe app misbehaves: it happened again at step %u. Screenshots on request. "
     "This blocks our work."},
    {"shipping",
     "logistics",
     {"Order #%u not delivered", "Wrong item received in order #%u", "Tracking shows no updates",
      "Change delivery address for #%u"},
     "Hello,\n\nMy order (%u) has not arrived as promised. Can you tell me where it is?"},
    {"account",
     "customer-care",
     {"Add a user to our team", "Change the account email", "Close my account",
      "Transfer ownership of workspace %u"},
     "Hi,\n\nWe need a change on our account (ref %u). What do you need from us?"},
    {"feature-request",
     "customer-care",
     {"Please add dark mode", "Bulk edit for records", "Calendar integration",
      "API rate limit too low for us (%u/min)"},
     "Hi,\n\nIt would help us a lot if the product could do this (we have %u users asking)."},
};

static const char *const group_names[DEMO_NGROUPS] = {"billing", "technical", "logistics",
                                                      "customer-care"};

static const char *const staff_replies[] = {
    "Thanks for reaching out. I am looking into this now and will get back to you shortly.",
    "Sorry for the trouble! Could you send us a screenshot and the time it happened?",
    "I have escalated this to the right team; you will hear from us today.",
    "Good news: this is fixed on our side. Could you check again and let us know?",
    "I have applied the change to your account. Anything else we can help with?"};

static const char *const customer_replies[] = {
    "Thanks, here is the screenshot you asked for.", "It is still happening, unfortunately.",
    "That worked, thank you!", "Any update on this? It is getting urgent.",
    "I tried again this morning, same result."};

static const char *const notes[] = {
    "Customer is on the enterprise plan; handle with care.",
    "Looks like the known issue from last week's release.", "Checked the logs: nothing obvious.",
    "Refund approved by finance.", "Waiting on the carrier's answer."};

/* --- the run ------------------------------------------------------------------------ */

typedef struct agent {
    uint64_t id;
    char name[64];
    hd_client *cl;
    size_t group;
} agent;

typedef struct customer {
    uint64_t id;
    char *token;
} customer;

typedef struct plan_ticket {
    uint64_t id;
    size_t customer;
    size_t category;
    uint32_t age_day;  /* 0 = oldest day of the story */
    int64_t create_ms; /* when the ticket was opened (Unix ms, UTC) */
} plan_ticket;

typedef struct demo {
    hd_cli *cli;
    uint64_t seed;
    uint32_t days;
    int64_t now_ms; /* the story ends here (Unix ms) */
    size_t nticket;
    hd_client *admin;
    uint64_t group_ids[DEMO_NGROUPS];
    agent agents[DEMO_NGROUPS * AGENTS_PER_GRP];
    size_t nagents;
    uint64_t manager_id;
    customer *customers;
    size_t ncustomers;
    plan_ticket *tickets;
    atomic_size_t next;
    atomic_int failed; /* an unexpected error stops every worker */
    atomic_ulong replies, notes, assigned, escalated, solved, closed, reopened, rated, merged,
        linked, skipped;
} demo;

static int call(demo *d, hd_client *cl, hd_arena *ar, const char *method,
                const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc,
                ProtobufCMessage **out)
{
    ProtobufCMessage *dummy;
    int rc = hd_cli_call_on(d->cli, cl, ar, method, req, desc, out ? out : &dummy,
                            GRPC_FAILED_PRECONDITION);
    if (rc == HD_CLI_EXIT_CONFLICT) {
        /* A story step the lifecycle refuses (e.g. closed in the meantime): skip it. */
        atomic_fetch_add(&d->skipped, 1);
        return rc;
    }
    if (rc != HD_CLI_EXIT_OK)
        atomic_store(&d->failed, rc);
    return rc;
}

static int setup_groups_and_staff(demo *d, hd_arena *ar)
{
    ProtobufCMessage *m;
    rng r = {d->seed ^ 0x5eedull};
    for (size_t g = 0; g < DEMO_NGROUPS; g++) {
        Helpdesk__V1__CreateGroupRequest req = HELPDESK__V1__CREATE_GROUP_REQUEST__INIT;
        req.name = (char *)group_names[g];
        req.description = (char *)"demo team";
        int rc = hd_cli_call_on(d->cli, d->admin, ar, "/helpdesk.v1.StaffService/CreateGroup",
                                &req.base, &helpdesk__v1__group__descriptor, &m, -1);
        if (rc != HD_CLI_EXIT_OK)
            return rc == HD_CLI_EXIT_CONFLICT
                       ? hd_cli_fail(d->cli, rc,
                                     "this server already has demo data; seed a "
                                     "fresh data directory")
                       : rc;
        d->group_ids[g] = ((Helpdesk__V1__Group *)m)->id;
    }
    for (size_t i = 0; i <= DEMO_NGROUPS * AGENTS_PER_GRP; i++) {
        Helpdesk__V1__CreateStaffRequest req = HELPDESK__V1__CREATE_STAFF_REQUEST__INIT;
        int manager = i == DEMO_NGROUPS * AGENTS_PER_GRP;
        char name[64], email[128];
        snprintf(name, sizeof(name), "%s %s", first_names[(i * 7 + 3) % 27],
                 last_names[(i * 5 + 1) % 24]);
        snprintf(email, sizeof(email), "%s%zu@helpdesk.example", manager ? "manager" : "agent", i);
        req.name = name;
        req.email = email;
        req.role = manager ? HELPDESK__V1__ROLE__ROLE_MANAGER : HELPDESK__V1__ROLE__ROLE_AGENT;
        req.password = (char *)DEMO_PASSWORD;
        req.capacity = manager ? 0 : 10 + rng_below(&r, 30);
        uint64_t gid = d->group_ids[i % DEMO_NGROUPS];
        req.group_ids = manager ? d->group_ids : &gid;
        req.n_group_ids = manager ? DEMO_NGROUPS : 1;
        int rc = call(d, d->admin, ar, "/helpdesk.v1.StaffService/CreateStaff", &req.base,
                      &helpdesk__v1__staff__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        uint64_t id = ((Helpdesk__V1__Staff *)m)->id;
        if (manager) {
            d->manager_id = id;
            break;
        }
        /* Each agent works under their own session, so metrics and audit show who did what. */
        Helpdesk__V1__LoginRequest lr = HELPDESK__V1__LOGIN_REQUEST__INIT;
        lr.email = email;
        lr.password = (char *)DEMO_PASSWORD;
        rc = call(d, d->admin, ar, "/helpdesk.v1.AuthService/Login", &lr.base,
                  &helpdesk__v1__login_response__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        agent *ag = &d->agents[d->nagents++];
        ag->id = id;
        ag->group = i % DEMO_NGROUPS;
        snprintf(ag->name, sizeof(ag->name), "%s", name);
        ag->cl = hd_cli_client_as(d->cli, ((Helpdesk__V1__LoginResponse *)m)->token, &rc);
        if (!ag->cl)
            return rc;
    }
    return HD_CLI_EXIT_OK;
}

static int setup_customers(demo *d, hd_arena *ar)
{
    ProtobufCMessage *m;
    rng r = {d->seed ^ 0xc0ffeeull};
    size_t norgs = d->ncustomers / 8 + 1;
    if (norgs > 20)
        norgs = 20;
    uint64_t org_ids[20];
    for (size_t o = 0; o < norgs; o++) {
        Helpdesk__V1__CreateOrganizationRequest req =
            HELPDESK__V1__CREATE_ORGANIZATION_REQUEST__INIT;
        req.name = (char *)org_names[o];
        req.shared_tickets = rng_chance(&r, 30);
        int rc = call(d, d->admin, ar, "/helpdesk.v1.CustomerService/CreateOrganization", &req.base,
                      &helpdesk__v1__organization__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        org_ids[o] = ((Helpdesk__V1__Organization *)m)->id;
    }
    for (size_t c = 0; c < d->ncustomers; c++) {
        Helpdesk__V1__CreateCustomerRequest req = HELPDESK__V1__CREATE_CUSTOMER_REQUEST__INIT;
        char name[96], email[160];
        const char *fn = first_names[rng_below(&r, 27)], *ln = last_names[rng_below(&r, 24)];
        int in_org = rng_chance(&r, 60);
        size_t o = rng_below(&r, (uint32_t)norgs);
        snprintf(name, sizeof(name), "%s %s", fn, ln);
        snprintf(email, sizeof(email), "%s.%s.%zu@%s.example", fn, ln, c,
                 in_org ? org_names[o] : "mail");
        for (char *p = email; *p; p++)
            *p = *p == ' ' ? '-' : (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        req.name = name;
        req.email = email;
        req.organization_id = in_org ? org_ids[o] : 0;
        int rc = call(d, d->admin, ar, "/helpdesk.v1.CustomerService/CreateCustomer", &req.base,
                      &helpdesk__v1__customer__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        d->customers[c].id = ((Helpdesk__V1__Customer *)m)->id;
        Helpdesk__V1__CreateCustomerTokenRequest tr =
            HELPDESK__V1__CREATE_CUSTOMER_TOKEN_REQUEST__INIT;
        tr.customer_id = d->customers[c].id;
        tr.ttl_seconds = 86400;
        rc = call(d, d->admin, ar, "/helpdesk.v1.AuthService/CreateCustomerToken", &tr.base,
                  &helpdesk__v1__login_response__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        d->customers[c].token = strdup(((Helpdesk__V1__LoginResponse *)m)->token);
        if (!d->customers[c].token)
            return hd_cli_fail(d->cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        hd_arena_reset(ar);
    }
    return HD_CLI_EXIT_OK;
}

/* Copies template into buf with "%u" replaced by ref and "%%" by "%" (the templates are
 * data, so no printf with a variable format). */
static void fill(char *buf, size_t n, const char *tmpl, unsigned ref)
{
    size_t k = 0;
    for (const char *p = tmpl; *p && k + 1 < n; p++) {
        if (p[0] == '%' && p[1] == 'u') {
            int m = snprintf(buf + k, n - k, "%u", ref);
            k += m > 0 ? (size_t)m : 0;
            if (k >= n)
                k = n - 1;
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            buf[k++] = '%';
            p++;
        } else {
            buf[k++] = *p;
        }
    }
    buf[k] = '\0';
}

/* A time of day on story day age_day (0 = oldest; days - 1 = today, up to now_ms): mostly
 * business hours. Returns Unix ms. */
static int64_t plan_time(rng *r, uint32_t days, uint32_t age_day, int64_t now_ms)
{
    static const uint32_t hour_w[24] = {2,  1,  1,  1,  1,  2,  4,  10, 30, 50, 55, 52,
                                        40, 48, 52, 50, 44, 30, 14, 9,  7,  5,  4,  3};
    const int64_t day_ms = 86400000;
    int64_t day0 = now_ms / day_ms * day_ms - (int64_t)(days - 1 - age_day) * day_ms;
    int64_t ms =
        day0 + (int64_t)rng_weighted(r, hour_w, 24) * 3600000 + (int64_t)rng_below(r, 3600000);
    if (ms > now_ms) /* today: keep the hour's shape within what has passed */
        ms = day0 + (ms - day0) % (now_ms - day0 + 1);
    return ms;
}

/* Creates every ticket in story order; the plan of each comes from its own rng. */
static int create_tickets(demo *d, hd_arena *ar)
{
    static const uint32_t weekday_w[7] = {100, 95, 90, 92, 80, 30, 22}; /* Mon..Sun */
    static const uint32_t channel_w[7] = {45, 20, 4, 3, 5, 15, 8};      /* EMAIL..PHONE */
    static const uint32_t prio_w[4] = {5, 20, 60, 15};                  /* URGENT..LOW */
    static const uint32_t cat_w[6] = {22, 18, 20, 15, 15, 10};
    uint32_t day_w[366];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 - 1000; /* a second of slack for the server */
    d->now_ms = now_ms;
    int64_t today = now_ms / 86400000;
    for (uint32_t i = 0; i < d->days; i++) {
        /* A gently growing helpdesk with a weekly rhythm (1970-01-01 was a Thursday). */
        int64_t unix_day = today - (d->days - 1 - i);
        day_w[i] = weekday_w[(unix_day + 3) % 7] * (80 + 40 * i / d->days) / 100 + 1;
    }
    for (size_t i = 0; i < d->nticket; i++) {
        rng r = {d->seed * 0x100000001b3ull + i};
        plan_ticket *t = &d->tickets[i];
        t->age_day = (uint32_t)rng_weighted(&r, day_w, d->days);
        /* A few customers write a lot: square the pick towards low indexes. */
        uint32_t x = rng_below(&r, 1000);
        t->customer = (size_t)((uint64_t)x * x * d->ncustomers / 1000000);
        t->category = rng_weighted(&r, cat_w, 6);
        const category *c = &categories[t->category];
        Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
        char subject[160], body[512], rid[64];
        unsigned ref = 1000 + rng_below(&r, 90000);
        fill(subject, sizeof(subject), c->subjects[rng_below(&r, 4)], ref);
        fill(body, sizeof(body), c->body, ref);
        snprintf(rid, sizeof(rid), "demo-%" PRIu64 "-%zu", d->seed, i);
        req.request_id = rid;
        req.customer_id = d->customers[t->customer].id;
        req.subject = subject;
        req.body = body;
        req.priority = (Helpdesk__V1__Priority)(1 + rng_weighted(&r, prio_w, 4));
        req.channel = (Helpdesk__V1__Channel)(1 + rng_weighted(&r, channel_w, 7));
        req.category = (char *)c->name;
        t->create_ms = plan_time(&r, d->days, t->age_day, now_ms);
        Google__Protobuf__Timestamp ct = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        ct.seconds = t->create_ms / 1000;
        ct.nanos = (int32_t)(t->create_ms % 1000) * 1000000;
        req.create_time = &ct;
        char *tags[2];
        req.tags = tags;
        if (rng_chance(&r, 15))
            tags[req.n_tags++] = (char *)"vip";
        if (rng_chance(&r, 10))
            tags[req.n_tags++] = (char *)"churn-risk";
        ProtobufCMessage *m;
        int rc = call(d, d->admin, ar, T_SVC "CreateTicket", &req.base,
                      &helpdesk__v1__ticket__descriptor, &m);
        if (rc != HD_CLI_EXIT_OK)
            return rc;
        t->id = ((Helpdesk__V1__Ticket *)m)->id;
        hd_arena_reset(ar);
        if (!hd_cli_quiet(d->cli) && !hd_cli_json(d->cli) && (i + 1) % 1000 == 0)
            fprintf(stderr, "demo: %zu/%zu tickets created\n", i + 1, d->nticket);
    }
    return HD_CLI_EXIT_OK;
}

/* One ticket's story clock: staff steps land at historical times after the ticket was
 * opened until one would pass the end of the story or a customer acts (live: from then on
 * every step happens now). */
typedef struct story {
    rng *r;
    int64_t at, end_ms;
    int live;
    Google__Protobuf__Timestamp ts;
} story;

/* Advances the story by min..max minutes. Returns the step's time (borrowed until the next
 * step) or NULL when the step happens now. */
static Google__Protobuf__Timestamp *story_step(story *s, uint32_t min, uint32_t max)
{
    if (s->live)
        return NULL;
    s->at += (int64_t)(min + rng_below(s->r, max - min + 1)) * 60000 + rng_below(s->r, 60000);
    if (s->at > s->end_ms) {
        s->live = 1;
        return NULL;
    }
    google__protobuf__timestamp__init(&s->ts);
    s->ts.seconds = s->at / 1000;
    s->ts.nanos = (int32_t)(s->at % 1000) * 1000000;
    return &s->ts;
}

/* Who sends a staff step: the agent when it happens now, the admin (who holds
 * tickets.import) when it carries a historical time. */
static hd_client *staff_for(demo *d, hd_client *own, const Google__Protobuf__Timestamp *time)
{
    return time ? d->admin : own;
}

static int reply(demo *d, hd_client *cl, hd_arena *ar, uint64_t id, const char *body,
                 Helpdesk__V1__TicketStatus after, Google__Protobuf__Timestamp *time)
{
    Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
    req.ticket_id = id;
    req.time = time;
    cl = staff_for(d, cl, time);
    req.body = (char *)body;
    req.status_after = after;
    int rc = call(d, cl, ar, T_SVC "ReplyToTicket", &req.base,
                  &helpdesk__v1__reply_to_ticket_response__descriptor, NULL);
    if (rc == HD_CLI_EXIT_OK)
        atomic_fetch_add(&d->replies, 1);
    return rc;
}

static int set_status(demo *d, hd_client *cl, hd_arena *ar, uint64_t id,
                      Helpdesk__V1__TicketStatus s, Google__Protobuf__Timestamp *time)
{
    Helpdesk__V1__UpdateTicketRequest req = HELPDESK__V1__UPDATE_TICKET_REQUEST__INIT;
    Helpdesk__V1__Ticket t = HELPDESK__V1__TICKET__INIT;
    Google__Protobuf__FieldMask mask = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
    char *path = (char *)"status";
    t.id = id;
    t.status = s;
    mask.paths = &path;
    mask.n_paths = 1;
    req.ticket = &t;
    req.update_mask = &mask;
    req.time = time;
    cl = staff_for(d, cl, time);
    return call(d, cl, ar, T_SVC "UpdateTicket", &req.base, &helpdesk__v1__ticket__descriptor,
                NULL);
}

/* One ticket's story after creation. Stops at the first unexpected error. */
static void work_ticket(demo *d, size_t i, hd_arena *ar)
{
    const plan_ticket *t = &d->tickets[i];
    rng r = {(d->seed ^ 0xabcdefull) * 0x100000001b3ull + i};
    const category *c = &categories[t->category];
    size_t gi = 0;
    for (size_t g = 0; g < DEMO_NGROUPS; g++) {
        if (strcmp(group_names[g], c->group) == 0)
            gi = g;
    }
    agent *ag = &d->agents[gi + DEMO_NGROUPS * rng_below(&r, AGENTS_PER_GRP)];
    uint32_t age = d->days - 1 - t->age_day; /* days before the end of the story */
    hd_client *cust = NULL;
    story st = {.r = &r, .at = t->create_ms, .end_ms = d->now_ms};
    int rc;
    if (age < 1 && rng_chance(&r, 40))
        return; /* fresh and untouched: the NEW queue */
    Helpdesk__V1__AssignTicketRequest as = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
    as.ticket_id = t->id;
    as.assignee_id = ag->id;
    as.group_id = d->group_ids[gi];
    if (rng_chance(&r, 8))
        as.assignee_id = 0; /* queued for the group only */
    as.time = story_step(&st, 2, 90);
    if (call(d, d->admin, ar, T_SVC "AssignTicket", &as.base, &helpdesk__v1__ticket__descriptor,
             NULL) != HD_CLI_EXIT_OK)
        return;
    atomic_fetch_add(&d->assigned, 1);
    if (!as.assignee_id)
        return;
    if (reply(d, ag->cl, ar, t->id, staff_replies[rng_below(&r, 5)],
              HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING,
              story_step(&st, 5, 360)) != HD_CLI_EXIT_OK)
        return;
    if (rng_chance(&r, 30)) {
        Helpdesk__V1__AddNoteRequest n = HELPDESK__V1__ADD_NOTE_REQUEST__INIT;
        char body[256];
        snprintf(body, sizeof(body), "%s", notes[rng_below(&r, 5)]);
        n.ticket_id = t->id;
        n.body = body;
        n.time = story_step(&st, 1, 60);
        if (call(d, staff_for(d, ag->cl, n.time), ar, T_SVC "AddNote", &n.base,
                 &helpdesk__v1__note__descriptor, NULL) == HD_CLI_EXIT_OK)
            atomic_fetch_add(&d->notes, 1);
    }
    if (rng_chance(&r, 45) && age < 2) {
        cust = hd_cli_client_as(d->cli, d->customers[t->customer].token, &rc);
        if (!cust) {
            atomic_store(&d->failed, rc);
            return;
        }
        st.live = 1; /* a customer's step happens now */
        if (reply(d, cust, ar, t->id, customer_replies[rng_below(&r, 5)], 0, NULL) ==
            HD_CLI_EXIT_OK)
            reply(d, ag->cl, ar, t->id, staff_replies[rng_below(&r, 5)],
                  HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_PENDING, NULL);
    }
    if (rng_chance(&r, 5)) {
        Helpdesk__V1__EscalateTicketRequest e = HELPDESK__V1__ESCALATE_TICKET_REQUEST__INIT;
        e.ticket_id = t->id;
        e.manager_id = d->manager_id;
        e.reason = (Helpdesk__V1__EscalationReason)(1 + rng_below(&r, 5));
        e.reason_text = (char *)"customer waiting too long";
        e.raise_priority = HELPDESK__V1__PRIORITY__PRIORITY_HIGH;
        e.time = story_step(&st, 30, 240);
        if (call(d, d->admin, ar, T_SVC "EscalateTicket", &e.base,
                 &helpdesk__v1__ticket__descriptor, NULL) == HD_CLI_EXIT_OK)
            atomic_fetch_add(&d->escalated, 1);
    }
    /* Older tickets are mostly done; the last few days keep an open queue. */
    uint32_t p_solve = age >= 7 ? 92 : age >= 2 ? 70 : 35;
    if (rng_chance(&r, p_solve) &&
        set_status(d, ag->cl, ar, t->id, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED,
                   story_step(&st, 20, 2880)) == HD_CLI_EXIT_OK) {
        atomic_fetch_add(&d->solved, 1);
        if (!cust && rng_chance(&r, 55)) {
            cust = hd_cli_client_as(d->cli, d->customers[t->customer].token, &rc);
            if (!cust) {
                atomic_store(&d->failed, rc);
                return;
            }
        }
        if (cust && rng_chance(&r, 6)) {
            /* Reopened by the customer, answered and solved again. */
            st.live = 1;
            if (reply(d, cust, ar, t->id, "Sorry, it broke again.", 0, NULL) == HD_CLI_EXIT_OK) {
                atomic_fetch_add(&d->reopened, 1);
                reply(d, ag->cl, ar, t->id, staff_replies[3],
                      HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_SOLVED, NULL);
            }
        }
        /* A rating happens now (customers cannot import) and would pull a later close to
         * today: tickets closed on a historical day go unrated. */
        int closing = age >= 4 && rng_chance(&r, 60);
        if (cust && !closing && rng_chance(&r, 70)) {
            static const uint32_t score_w[5] = {6, 7, 12, 30, 45};
            st.live = 1;
            Helpdesk__V1__RateTicketRequest rr = HELPDESK__V1__RATE_TICKET_REQUEST__INIT;
            rr.ticket_id = t->id;
            rr.score = (uint32_t)(1 + rng_weighted(&r, score_w, 5));
            rr.comment = rr.score >= 4 ? (char *)"Quick and friendly" : (char *)"Took too long";
            if (call(d, cust, ar, T_SVC "RateTicket", &rr.base, &helpdesk__v1__ticket__descriptor,
                     NULL) == HD_CLI_EXIT_OK)
                atomic_fetch_add(&d->rated, 1);
        }
        if (closing &&
            set_status(d, ag->cl, ar, t->id, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED,
                       story_step(&st, 1440, 4320)) == HD_CLI_EXIT_OK)
            atomic_fetch_add(&d->closed, 1);
    }
    hd_client_close(cust);
}

static void *worker(void *arg)
{
    demo *d = arg;
    hd_arena *ar = hd_arena_create(64 * 1024);
    if (!ar) {
        atomic_store(&d->failed, HD_CLI_EXIT_INTERNAL);
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&d->next, 1);
        if (i >= d->nticket || atomic_load(&d->failed))
            break;
        work_ticket(d, i, ar);
        hd_arena_reset(ar);
    }
    hd_arena_destroy(ar);
    return NULL;
}

/* Merges and links last, in one sequence: they join two tickets' stories. */
static void merge_and_link(demo *d, hd_arena *ar)
{
    rng r = {d->seed ^ 0x4d45524745ull};
    /* A customer who writes twice about one thing gets the second ticket merged into the
     * first: remember each customer's latest ticket. */
    size_t *last = malloc(d->ncustomers * sizeof(*last));
    if (!last) {
        atomic_store(&d->failed, hd_cli_fail(d->cli, HD_CLI_EXIT_INTERNAL, "out of memory"));
        return;
    }
    for (size_t c = 0; c < d->ncustomers; c++)
        last[c] = SIZE_MAX;
    for (size_t i = 0; i < d->nticket && !atomic_load(&d->failed); i++) {
        size_t prev = last[d->tickets[i].customer];
        last[d->tickets[i].customer] = i;
        if (prev != SIZE_MAX && rng_chance(&r, 8)) {
            Helpdesk__V1__MergeTicketsRequest m = HELPDESK__V1__MERGE_TICKETS_REQUEST__INIT;
            m.source_id = d->tickets[i].id;
            m.target_id = d->tickets[prev].id;
            if (call(d, d->admin, ar, T_SVC "MergeTickets", &m.base,
                     &helpdesk__v1__merge_tickets_response__descriptor, NULL) == HD_CLI_EXIT_OK)
                atomic_fetch_add(&d->merged, 1);
        } else if (i > 0 && rng_chance(&r, 3)) {
            Helpdesk__V1__LinkTicketsRequest l = HELPDESK__V1__LINK_TICKETS_REQUEST__INIT;
            l.ticket_id = d->tickets[i].id;
            l.other_id = d->tickets[rng_below(&r, (uint32_t)i)].id;
            l.kind = HELPDESK__V1__LINK_KIND__LINK_KIND_RELATED;
            if (call(d, d->admin, ar, T_SVC "LinkTickets", &l.base,
                     &helpdesk__v1__link_tickets_response__descriptor, NULL) == HD_CLI_EXIT_OK)
                atomic_fetch_add(&d->linked, 1);
        }
        hd_arena_reset(ar);
    }
    free(last);
}

static void print_summary(demo *d)
{
    struct {
        const char *name;
        unsigned long v;
    } rows[] = {
        {"organizations", d->ncustomers / 8 + 1 > 20 ? 20 : d->ncustomers / 8 + 1},
        {"customers", d->ncustomers},
        {"groups", DEMO_NGROUPS},
        {"staff", d->nagents + 1},
        {"tickets", d->nticket},
        {"assigned", atomic_load(&d->assigned)},
        {"replies", atomic_load(&d->replies)},
        {"notes", atomic_load(&d->notes)},
        {"escalated", atomic_load(&d->escalated)},
        {"solved", atomic_load(&d->solved)},
        {"reopened", atomic_load(&d->reopened)},
        {"rated", atomic_load(&d->rated)},
        {"closed", atomic_load(&d->closed)},
        {"merged", atomic_load(&d->merged)},
        {"linked", atomic_load(&d->linked)},
        {"skipped steps", atomic_load(&d->skipped)},
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    if (hd_cli_json(d->cli)) {
        json_t *o = json_object();
        for (size_t i = 0; o && i < n; i++) {
            char key[32];
            size_t k = 0;
            int up = 0;
            for (const char *p = rows[i].name; *p && k + 1 < sizeof(key); p++) {
                if (*p == ' ') {
                    up = 1;
                    continue;
                }
                key[k++] = up ? (char)(*p - 32) : *p;
                up = 0;
            }
            key[k] = '\0';
            json_object_set_new(o, key, json_integer((json_int_t)rows[i].v));
        }
        if (o)
            hd_cli_json_dump(stdout, o);
        json_decref(o);
        return;
    }
    if (hd_cli_quiet(d->cli))
        return;
    for (size_t i = 0; i < n; i++)
        printf("%-14s %lu\n", rows[i].name, rows[i].v);
    printf("\nstaff log in as agent0@helpdesk.example ... agent%zu@helpdesk.example or "
           "manager%zu@helpdesk.example, password %s\n",
           d->nagents - 1, d->nagents, DEMO_PASSWORD);
}

static const hd_cli_opt seed_opts[] = {
    {"days", "N", "length of the story in days (default 90, at most 366)"},
    {"tickets", "N", "tickets to create (default 5000)"},
    {"seed", "N", "random seed: the same seed gives the same helpdesk (default 1)"},
    {0},
};

static int demo_seed(hd_cli *cli, const hd_cli_args *a)
{
    demo *d = calloc(1, sizeof(*d));
    hd_arena *ar = hd_arena_create(64 * 1024);
    uint64_t days, tickets;
    pthread_t th[DEMO_THREADS];
    size_t nth = 0;
    int rc;
    if (!d || !ar) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        goto done;
    }
    d->cli = cli;
    if ((rc = hd_cli_arg_u64(cli, a, "days", 90, &days)) != HD_CLI_EXIT_OK ||
        (rc = hd_cli_arg_u64(cli, a, "tickets", 5000, &tickets)) != HD_CLI_EXIT_OK ||
        (rc = hd_cli_arg_u64(cli, a, "seed", 1, &d->seed)) != HD_CLI_EXIT_OK)
        goto done;
    if (days < 1 || days > 366 || tickets < 1 || tickets > DEMO_MAX) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_USAGE, "want --days 1-366 and --tickets 1-%d", DEMO_MAX);
        goto done;
    }
    d->days = (uint32_t)days;
    d->nticket = tickets;
    d->ncustomers = tickets / 5 < 10 ? 10 : tickets / 5;
    d->customers = calloc(d->ncustomers, sizeof(*d->customers));
    d->tickets = calloc(d->nticket, sizeof(*d->tickets));
    if (!d->customers || !d->tickets) {
        rc = hd_cli_fail(cli, HD_CLI_EXIT_INTERNAL, "out of memory");
        goto done;
    }
    d->admin = hd_cli_client(cli, &rc);
    if (!d->admin)
        goto done;
    if ((rc = setup_groups_and_staff(d, ar)) != HD_CLI_EXIT_OK ||
        (rc = setup_customers(d, ar)) != HD_CLI_EXIT_OK ||
        (rc = create_tickets(d, ar)) != HD_CLI_EXIT_OK)
        goto done;
    for (; nth < DEMO_THREADS; nth++) {
        if (pthread_create(&th[nth], NULL, worker, d) != 0)
            break;
    }
    if (nth == 0)
        worker(d);
    for (size_t i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    merge_and_link(d, ar);
    rc = atomic_load(&d->failed);
    if (rc == HD_CLI_EXIT_OK)
        print_summary(d);
done:
    if (d) {
        for (size_t i = 0; i < d->nagents; i++)
            hd_client_close(d->agents[i].cl);
        for (size_t i = 0; d->customers && i < d->ncustomers; i++)
            free(d->customers[i].token);
        free(d->customers);
        free(d->tickets);
        free(d);
    }
    hd_arena_destroy(ar);
    return rc;
}

static const hd_cli_cmd demo_cmds[] = {
    {"seed", "Fill a fresh server with a realistic, reproducible helpdesk (admin token)",
     "[--days 90] [--tickets 5000] [--seed N]", seed_opts,
     "helpdesk demo seed --days 90 --tickets 5000 --seed 7", demo_seed, 0, 0},
    {0},
};

HD_CLI_GROUP(demo, "Demo data: seed a server through the public API", demo_cmds)
