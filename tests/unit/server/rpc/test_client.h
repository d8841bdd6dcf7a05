/* A small synchronous gRPC client on the C core for the serving-core tests: one call per
 * pluck queue, raw request bytes in, status + raw response out. Test-only. */
#ifndef HD_TESTS_RPC_TEST_CLIENT_H
#define HD_TESTS_RPC_TEST_CLIENT_H

#include <stddef.h>

#include <grpc/grpc.h>
#include <grpc/support/time.h>
#include <protobuf-c/protobuf-c.h>

typedef struct tc_result {
    grpc_status_code status;
    char details[512];
    unsigned char *resp; /* owned (free()); NULL when no message came */
    size_t resp_len;
    int nmsgs; /* messages received (streams) */
} tc_result;

/* Optional metadata for a call; NULL fields are not sent. */
typedef struct tc_md {
    const char *authorization;
    const char *request_id;
} tc_md;

/* Opens an insecure channel to 127.0.0.1:port. Owned: grpc_channel_destroy. */
grpc_channel *tc_channel(int port);

/* Packs msg into a malloc'd buffer (owned: free) of *len bytes. */
unsigned char *tc_pack(const ProtobufCMessage *msg, size_t *len);

/* One unary call. Fills *out (free out->resp). Returns 0, or -1 when the call could not be
 * started or did not complete within timeout_ms + 5 s. */
int tc_unary(grpc_channel *ch, const char *method, const void *req, size_t len, const tc_md *md,
             int timeout_ms, tc_result *out);

/* A server-streaming call; counts the responses in out->nmsgs and keeps the last one. */
int tc_server_stream(grpc_channel *ch, const char *method, const void *req, size_t len,
                     const tc_md *md, int timeout_ms, tc_result *out);

/* A bidi call sending n requests one after the other, each followed by reading one
 * response; the i-th response is stored in resps[i] (owned: free), lens in lens[i]. */
int tc_bidi(grpc_channel *ch, const char *method, const unsigned char *const *reqs,
            const size_t *lens, int n, int timeout_ms, unsigned char **resps, size_t *resp_lens,
            tc_result *out);

/* Clears out (frees the response). */
void tc_result_clear(tc_result *out);

/* Fills md_out (array of at least 2) from md; returns the count. */
size_t tc_fill_md(const tc_md *md, grpc_metadata *md_out);

/* Reads a byte buffer into a malloc'd copy (owned: free). */
unsigned char *tc_read_bb(grpc_byte_buffer *bb, size_t *len);

/* An absolute deadline ms milliseconds from now (monotonic clock). */
gpr_timespec tc_deadline_ms(int ms);

#endif
