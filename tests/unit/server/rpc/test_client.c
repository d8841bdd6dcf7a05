/* Synchronous test client on the C core (see test_client.h). */
#include "tests/unit/server/rpc/test_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

grpc_channel *tc_channel(int port)
{
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    grpc_channel *ch = grpc_channel_create(target, creds, NULL);
    grpc_channel_credentials_release(creds);
    return ch;
}

unsigned char *tc_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    unsigned char *b = malloc(*len ? *len : 1);
    protobuf_c_message_pack(msg, b);
    return b;
}

unsigned char *tc_read_bb(grpc_byte_buffer *bb, size_t *len)
{
    grpc_byte_buffer_reader r;
    grpc_byte_buffer_reader_init(&r, bb);
    grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
    grpc_byte_buffer_reader_destroy(&r);
    *len = GRPC_SLICE_LENGTH(sl);
    unsigned char *b = malloc(*len ? *len : 1);
    memcpy(b, GRPC_SLICE_START_PTR(sl), *len);
    grpc_slice_unref(sl);
    return b;
}

void tc_result_clear(tc_result *out)
{
    free(out->resp);
    memset(out, 0, sizeof(*out));
}

size_t tc_fill_md(const tc_md *md, grpc_metadata *m)
{
    size_t n = 0;
    if (md && md->authorization) {
        memset(&m[n], 0, sizeof(m[n]));
        m[n].key = grpc_slice_from_static_string("authorization");
        m[n++].value = grpc_slice_from_static_string(md->authorization);
    }
    if (md && md->request_id) {
        memset(&m[n], 0, sizeof(m[n]));
        m[n].key = grpc_slice_from_static_string("x-request-id");
        m[n++].value = grpc_slice_from_static_string(md->request_id);
    }
    return n;
}

typedef struct tc_call {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array init_md, trail_md;
    grpc_status_code status;
    grpc_slice details;
    gpr_timespec wait_until;
} tc_call;

static int tc_start(tc_call *c, grpc_channel *ch, const char *method, int timeout_ms)
{
    memset(c, 0, sizeof(*c));
    c->cq = grpc_completion_queue_create_for_pluck(NULL);
    gpr_timespec deadline =
        timeout_ms > 0 ? tc_deadline_ms(timeout_ms) : gpr_inf_future(GPR_CLOCK_REALTIME);
    c->wait_until = tc_deadline_ms((timeout_ms > 0 ? timeout_ms : 0) + 10000);
    grpc_slice m = grpc_slice_from_copied_string(method);
    c->call =
        grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, m, NULL, deadline, NULL);
    grpc_slice_unref(m);
    grpc_metadata_array_init(&c->init_md);
    grpc_metadata_array_init(&c->trail_md);
    return c->call ? 0 : -1;
}

static int tc_batch(tc_call *c, const grpc_op *ops, size_t n, void *tag)
{
    if (grpc_call_start_batch(c->call, ops, n, tag, NULL) != GRPC_CALL_OK)
        return -1;
    grpc_event ev = grpc_completion_queue_pluck(c->cq, tag, c->wait_until, NULL);
    if (ev.type != GRPC_OP_COMPLETE)
        return -1;
    return ev.success ? 0 : 1;
}

static void tc_end(tc_call *c, tc_result *out)
{
    size_t n = GRPC_SLICE_LENGTH(c->details);
    if (n >= sizeof(out->details))
        n = sizeof(out->details) - 1;
    memcpy(out->details, GRPC_SLICE_START_PTR(c->details), n);
    out->details[n] = '\0';
    out->status = c->status;
    grpc_slice_unref(c->details);
    grpc_metadata_array_destroy(&c->init_md);
    grpc_metadata_array_destroy(&c->trail_md);
    if (c->call)
        grpc_call_unref(c->call);
    grpc_completion_queue_shutdown(c->cq);
    while (
        grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
        GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(c->cq);
}

static grpc_byte_buffer *tc_bb(const void *req, size_t len)
{
    grpc_slice sl = grpc_slice_from_copied_buffer(req, len);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    return bb;
}

int tc_unary(grpc_channel *ch, const char *method, const void *req, size_t len, const tc_md *md,
             int timeout_ms, tc_result *out)
{
    tc_call c;
    memset(out, 0, sizeof(*out));
    if (tc_start(&c, ch, method, timeout_ms) != 0)
        return -1;
    grpc_metadata m[2];
    grpc_byte_buffer *send = tc_bb(req, len);
    grpc_byte_buffer *recv = NULL;
    grpc_op ops[6];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = tc_fill_md(md, m);
    ops[0].data.send_initial_metadata.metadata = m;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c.init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &c.trail_md;
    ops[5].data.recv_status_on_client.status = &c.status;
    ops[5].data.recv_status_on_client.status_details = &c.details;
    int rc = tc_batch(&c, ops, 6, &c);
    grpc_byte_buffer_destroy(send);
    if (recv) {
        out->resp = tc_read_bb(recv, &out->resp_len);
        out->nmsgs = 1;
        grpc_byte_buffer_destroy(recv);
    }
    tc_end(&c, out);
    return rc < 0 ? -1 : 0;
}

int tc_server_stream(grpc_channel *ch, const char *method, const void *req, size_t len,
                     const tc_md *md, int timeout_ms, tc_result *out)
{
    tc_call c;
    memset(out, 0, sizeof(*out));
    if (tc_start(&c, ch, method, timeout_ms) != 0)
        return -1;
    grpc_metadata m[2];
    grpc_byte_buffer *send = tc_bb(req, len);
    grpc_op ops[4];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = tc_fill_md(md, m);
    ops[0].data.send_initial_metadata.metadata = m;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &c.init_md;
    int rc = tc_batch(&c, ops, 4, &c);
    grpc_byte_buffer_destroy(send);
    for (int i = 0; rc >= 0 && i < 1000000; i++) {
        grpc_byte_buffer *recv = NULL;
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_RECV_MESSAGE;
        ops[0].data.recv_message.recv_message = &recv;
        rc = tc_batch(&c, ops, 1, &c);
        if (!recv)
            break;
        free(out->resp);
        out->resp = tc_read_bb(recv, &out->resp_len);
        out->nmsgs++;
        grpc_byte_buffer_destroy(recv);
    }
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &c.trail_md;
    ops[0].data.recv_status_on_client.status = &c.status;
    ops[0].data.recv_status_on_client.status_details = &c.details;
    rc = tc_batch(&c, ops, 1, &c);
    tc_end(&c, out);
    return rc < 0 ? -1 : 0;
}

int tc_bidi(grpc_channel *ch, const char *method, const unsigned char *const *reqs,
            const size_t *lens, int n, int timeout_ms, unsigned char **resps, size_t *resp_lens,
            tc_result *out)
{
    tc_call c;
    memset(out, 0, sizeof(*out));
    if (tc_start(&c, ch, method, timeout_ms) != 0)
        return -1;
    grpc_op ops[3];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &c.init_md;
    int rc = tc_batch(&c, ops, 2, &c);
    for (int i = 0; rc >= 0 && i < n; i++) {
        grpc_byte_buffer *send = tc_bb(reqs[i], lens[i]);
        grpc_byte_buffer *recv = NULL;
        memset(ops, 0, sizeof(ops));
        ops[0].op = GRPC_OP_SEND_MESSAGE;
        ops[0].data.send_message.send_message = send;
        ops[1].op = GRPC_OP_RECV_MESSAGE;
        ops[1].data.recv_message.recv_message = &recv;
        rc = tc_batch(&c, ops, 2, &c);
        grpc_byte_buffer_destroy(send);
        if (recv) {
            resps[i] = tc_read_bb(recv, &resp_lens[i]);
            out->nmsgs++;
            grpc_byte_buffer_destroy(recv);
        }
    }
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[1].data.recv_status_on_client.trailing_metadata = &c.trail_md;
    ops[1].data.recv_status_on_client.status = &c.status;
    ops[1].data.recv_status_on_client.status_details = &c.details;
    rc = tc_batch(&c, ops, 2, &c);
    tc_end(&c, out);
    return rc < 0 ? -1 : 0;
}

gpr_timespec tc_deadline_ms(int ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}
