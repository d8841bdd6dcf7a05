/* Fuzz target for CreateTicket input: arbitrary bytes are unpacked as a
 * CreateTicketRequest (as the server does) and validated by hd_tickets_create_prepare; any
 * request it accepts must satisfy every rule (checked again here independently) and get the
 * same fingerprint from a second prepare. The first byte also selects a raw check (UTF-8,
 * email) run on the rest, so those see any bytes.
 * Built as a libFuzzer target with clang (-fsanitize=fuzzer), or with HD_FUZZ_DRIVER as a
 * plain test that runs seeds and a bounded number of pseudo-random mutations. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpdesk/v1/tickets.pb-c.h"
#include "server/common/arena.h"
#include "server/tickets/tickets.h"
#include "server/validate/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: accepted input breaks: %s\n", __FILE__, __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_accepted(const hd_tickets_create_args *args)
{
    size_t n = strlen(args->subject);
    CHECK(n > 0 && hd_validate_utf8(args->subject, n) && hd_validate_single_line(args->subject, n));
    CHECK(hd_validate_utf8_chars(args->subject, n) <= HD_TICKETS_SUBJECT_MAX);
    n = strlen(args->body);
    CHECK(n > 0 && n <= 4096 && hd_validate_utf8(args->body, n));
    CHECK(strlen(args->request_id) <= HD_TICKETS_REQUEST_ID_MAX);
    CHECK(hd_validate_printable_ascii(args->request_id, strlen(args->request_id)));
    if (!args->customer_id) {
        n = strlen(args->customer_email);
        CHECK(hd_validate_email(args->customer_email, n));
        for (size_t i = 0; i < n; i++)
            CHECK(!(args->customer_email[i] >= 'A' && args->customer_email[i] <= 'Z'));
    }
    CHECK(args->n_tags <= HD_TICKETS_TAGS_MAX);
    for (size_t i = 0; i < args->n_tags; i++) {
        n = strlen(args->tags[i]);
        CHECK(n >= 1 && n <= HD_TICKETS_TAG_MAX);
    }
    CHECK(args->n_custom_fields <= HD_TICKETS_FIELDS_MAX);
    CHECK(args->priority >= 1 && args->priority <= 4);
    CHECK(args->channel >= 1 && args->channel <= 7);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] == 'U') {
        (void)hd_validate_utf8((const char *)data + 1, size - 1);
        return 0;
    }
    if (data[0] == 'E') {
        if (hd_validate_email((const char *)data + 1, size - 1))
            CHECK(size - 1 <= HD_VALIDATE_EMAIL_MAX && memchr(data + 1, '@', size - 1));
        return 0;
    }
    hd_arena *a = hd_arena_create(0);
    ProtobufCAllocator pa;
    if (!a)
        return 0;
    hd_arena_pb_allocator(a, &pa);
    ProtobufCMessage *m = protobuf_c_message_unpack(
        &helpdesk__v1__create_ticket_request__descriptor, &pa, size, data);
    if (m) {
        hd_tickets_create_args args;
        hd_tickets_limits lim = {.body_max = 4096};
        hd_err err = {0};
        int rc = hd_tickets_create_prepare(&args, a, (Helpdesk__V1__CreateTicketRequest *)m, &lim,
                                           NULL, &err);
        if (rc == 0) {
            check_accepted(&args);
            /* The fingerprint is a function of the request (a retry must match its first
             * call): a second prepare of the same bytes agrees. */
            hd_tickets_create_args again;
            CHECK(hd_tickets_create_prepare(&again, a, (Helpdesk__V1__CreateTicketRequest *)m, &lim,
                                            NULL, &err) == 0);
            CHECK(memcmp(again.fingerprint, args.fingerprint, HD_TICKETS_FINGERPRINT_BYTES) == 0);
        } else
            CHECK(rc == HD_EINVAL && strchr(err.detail, ':'));
    }
    hd_arena_destroy(a);
    return 0;
}

#ifdef HD_FUZZ_DRIVER
/* Regression driver: seeds (a valid request and edge cases), then mutations of them. */
int main(void)
{
    Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
    char *tags[] = {(char *)"a", (char *)"b_c-1"};
    uint8_t buf[2048];
    req.request_id = (char *)"rid-1";
    req.customer_email = (char *)"Ada@Example.com";
    req.subject = (char *)"Subject \xC3\xA9";
    req.body = (char *)"Body";
    req.priority = HELPDESK__V1__PRIORITY__PRIORITY_HIGH;
    req.n_tags = 2;
    req.tags = tags;
    size_t n = protobuf_c_message_pack(&req.base, buf);
    uint64_t x = 88172645463325252ull;
    size_t runs = 0;
    LLVMFuzzerTestOneInput(buf, n);
    LLVMFuzzerTestOneInput((const uint8_t *)"Ea@b.c", 6);
    LLVMFuzzerTestOneInput((const uint8_t *)"U\xED\xA0\x80", 4);
    for (int i = 0; i < 200000; i++) {
        uint8_t m[2048];
        size_t len = n;
        memcpy(m, buf, n);
        for (int k = 0; k < 1 + i % 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t pos = (size_t)(x % len);
            switch ((x >> 32) % 3) {
            case 0:
                m[pos] = (uint8_t)(x >> 40);
                break;
            case 1:
                m[pos] ^= (uint8_t)(1u << ((x >> 40) % 8));
                break;
            default:
                len = pos + 1;
                break;
            }
        }
        LLVMFuzzerTestOneInput(m, len);
        runs++;
    }
    printf("%zu mutated inputs, no accepted input broke a rule\n", runs);
    return 0;
}
#endif
