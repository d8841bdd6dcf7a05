/* Runs the reflection fuzz target over a seeded corpus without libFuzzer: valid requests
 * of every kind, then deterministic mutations of them (bit flips, truncation, splices,
 * random bytes). Any crash, sanitizer report or leak fails the test. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grpc/reflection/v1/reflection.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ITERATIONS       20000
#define REPLAY_MAX_INPUT 512

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static size_t seed(int which, uint8_t *out)
{
    Grpc__Reflection__V1__ServerReflectionRequest r =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
    Grpc__Reflection__V1__ExtensionRequest x = GRPC__REFLECTION__V1__EXTENSION_REQUEST__INIT;
    r.host = (char *)"localhost";
    switch (which) {
    case 0:
        r.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
        r.list_services = (char *)"*";
        break;
    case 1:
        r.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
        r.file_containing_symbol = (char *)"helpdesk.v1.TicketService.GetTicket";
        break;
    case 2:
        r.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
        r.file_by_filename = (char *)"helpdesk/v1/tickets.proto";
        break;
    case 3:
        r.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION;
        x.containing_type = (char *)"helpdesk.v1.Ticket";
        x.extension_number = 7;
        r.file_containing_extension = &x;
        break;
    default:
        r.message_request_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE;
        r.all_extension_numbers_of_type = (char *)".helpdesk.v1.Ticket";
        break;
    }
    return grpc__reflection__v1__server_reflection_request__pack(&r, out);
}

int main(void)
{
    uint8_t seeds[5][REPLAY_MAX_INPUT];
    size_t lens[5];
    for (int i = 0; i < 5; i++) {
        lens[i] = seed(i, seeds[i]);
        LLVMFuzzerTestOneInput(seeds[i], lens[i]);
    }
    uint8_t buf[REPLAY_MAX_INPUT];
    for (int it = 0; it < ITERATIONS; it++) {
        int s = (int)(next() % 5);
        size_t len = lens[s];
        memcpy(buf, seeds[s], len);
        switch (next() % 4) {
        case 0: /* flip a few bits */
            for (int k = 0, n = 1 + (int)(next() % 4); k < n; k++)
                buf[next() % len] ^= (uint8_t)(1u << (next() % 8));
            break;
        case 1: /* truncate */
            len = next() % len;
            break;
        case 2: { /* splice the tail of another seed */
            int t = (int)(next() % 5);
            size_t cut = next() % len, from = next() % lens[t];
            size_t add = lens[t] - from;
            if (cut + add > REPLAY_MAX_INPUT)
                add = REPLAY_MAX_INPUT - cut;
            memcpy(buf + cut, seeds[t] + from, add);
            len = cut + add;
            break;
        }
        default: /* random bytes */
            len = next() % 64;
            for (size_t k = 0; k < len; k++)
                buf[k] = (uint8_t)next();
            break;
        }
        LLVMFuzzerTestOneInput(buf, len);
    }
    printf("reflection_fuzz_replay: %d inputs, no crash\n", ITERATIONS + 5);
    return 0;
}
