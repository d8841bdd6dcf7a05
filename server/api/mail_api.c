/* MailService: maps requests onto the mail room's modules (mailbox.h, outbox.h, imap_conn.h,
 * smtp.h, blob.h, undeliverable.h). TestMailbox talks to the network (a wrong IMAP password
 * takes seconds), so it runs on a thread of its own and finishes the call asynchronously. */
#include "server/api/mail_api.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "helpdesk/v1/mail.pb-c.h"
#include "server/api/perm.h"
#include "server/app.h"
#include "server/clock/clock.h"
#include "server/mail/blob.h"
#include "server/mail/imap_conn.h"
#include "server/mail/mail.h"
#include "server/mail/mailbox.h"
#include "server/mail/outbox.h"
#include "server/mail/smtp.h"
#include "server/mail/undeliverable.h"
#include "server/store/store.h"
#include "server/tickets/bus.h"

static int need_mail(const hd_app *app, hd_err *err)
{
    return app->mail ? HD_OK
                     : hd_err_set(err, HD_EUNAVAIL, "mail: the email channel is not running");
}

static int add_mailbox(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    const Helpdesk__V1__AddMailboxRequest *req = (const Helpdesk__V1__AddMailboxRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    Helpdesk__V1__Mailbox *out = NULL;
    int rc = need_mail(app, err);
    if (rc < 0)
        return rc;
    if (!req->mailbox)
        return hd_err_set(err, HD_EINVAL, "mailbox: required");
    rc = hd_mailbox_add(app->store, hd_mail_key(app->mail), hd_rpc_call_arena(call), req->mailbox,
                        &out, err);
    if (rc < 0)
        return rc;
    *(Helpdesk__V1__Mailbox *)respm = *out;
    hd_mail_kick(app->mail);
    return HD_OK;
}

static int list_mailboxes(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                          hd_err *err)
{
    (void)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_arena *a = hd_rpc_call_arena(call);
    Helpdesk__V1__ListMailboxesResponse *resp = (Helpdesk__V1__ListMailboxesResponse *)respm;
    Helpdesk__V1__MailboxState **states = NULL;
    size_t n = 0;
    int rc = hd_mailbox_list(app->store, a, &resp->mailboxes, &states, &n, err);
    if (rc < 0)
        return rc;
    resp->n_mailboxes = n;
    /* Every mailbox gets a state entry (empty when never polled) so the lists line up. */
    resp->states = hd_arena_calloc(a, n ? n : 1, sizeof *resp->states);
    if (!resp->states)
        return hd_err_set(err, HD_ENOMEM, "mail: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (!states[i]) {
            states[i] = hd_arena_calloc(a, 1, sizeof **states);
            if (!states[i])
                return hd_err_set(err, HD_ENOMEM, "mail: out of memory");
            helpdesk__v1__mailbox_state__init(states[i]);
            states[i]->mailbox_id = resp->mailboxes[i]->id;
        }
        resp->states[i] = states[i];
    }
    resp->n_states = n;
    return HD_OK;
}

static int update_mailbox(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                          hd_err *err)
{
    const Helpdesk__V1__UpdateMailboxRequest *req =
        (const Helpdesk__V1__UpdateMailboxRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    Helpdesk__V1__Mailbox *out = NULL;
    int rc = need_mail(app, err);
    if (rc < 0)
        return rc;
    if (!req->mailbox || !req->mailbox->id)
        return hd_err_set(err, HD_EINVAL, "mailbox.id: required");
    char *const *paths = req->update_mask ? req->update_mask->paths : NULL;
    size_t n = req->update_mask ? req->update_mask->n_paths : 0;
    rc = hd_mailbox_update(app->store, hd_mail_key(app->mail), hd_rpc_call_arena(call),
                           req->mailbox, paths, n, &out, err);
    if (rc < 0)
        return rc;
    *(Helpdesk__V1__Mailbox *)respm = *out;
    hd_mail_kick(app->mail);
    return HD_OK;
}

static int remove_mailbox(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                          hd_err *err)
{
    (void)respm;
    const Helpdesk__V1__RemoveMailboxRequest *req =
        (const Helpdesk__V1__RemoveMailboxRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    if (!req->id)
        return hd_err_set(err, HD_EINVAL, "id: required");
    int rc = hd_mailbox_remove(app->store, req->id, err);
    if (rc < 0)
        return rc;
    hd_mail_kick(app->mail);
    return HD_OK;
}

typedef struct test_job {
    hd_rpc_call *call;
    Helpdesk__V1__Mailbox *mb; /* passwords in clear, call arena */
    Helpdesk__V1__TestMailboxResponse *resp;
} test_job;

static void *test_thread(void *arg)
{
    test_job *j = arg;
    hd_arena *a = hd_rpc_call_arena(j->call);
    hd_err e;
    hd_imap_conf ic = {.url = j->mb->imap_url,
                       .username = j->mb->imap_username,
                       .password = j->mb->imap_password,
                       .folder = j->mb->folder,
                       .tls = j->mb->tls,
                       .ca_file = j->mb->ca_file,
                       .timeout_ms = 15000};
    hd_imap_conn *c = NULL;
    hd_imap_select sel;
    int rc = hd_imap_conn_open(&c, &ic, 0, NULL, NULL, &e);
    if (rc == 0)
        rc = hd_imap_conn_select(c, *j->mb->folder ? j->mb->folder : "INBOX", &sel, &e);
    if (rc == 0) {
        j->resp->uid_validity = sel.uidvalidity;
        j->resp->messages = sel.exists;
    }
    hd_imap_conn_close(c);
    j->resp->imap_ok = rc == 0;
    j->resp->imap_error = hd_arena_strdup(a, rc == 0 ? "" : e.detail);
    if (*j->mb->smtp_url) {
        hd_smtp_conf sc = {.url = j->mb->smtp_url,
                           .username = j->mb->smtp_username,
                           .password = j->mb->smtp_password,
                           .tls = j->mb->tls,
                           .timeout_ms = 15000};
        rc = hd_smtp_probe(&sc, &e);
        j->resp->smtp_ok = rc == 0;
        j->resp->smtp_error = hd_arena_strdup(a, rc == 0 ? "" : e.detail);
    }
    hd_err ok;
    hd_err_clear(&ok);
    hd_rpc_finish(j->call, &ok);
    return NULL;
}

static int test_mailbox(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__TestMailboxRequest *req = (const Helpdesk__V1__TestMailboxRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_arena *a = hd_rpc_call_arena(call);
    int rc = need_mail(app, err);
    if (rc < 0)
        return rc;
    test_job *j = hd_arena_calloc(a, 1, sizeof *j);
    if (!j)
        return hd_err_set(err, HD_ENOMEM, "mail: out of memory");
    j->call = call;
    j->resp = (Helpdesk__V1__TestMailboxResponse *)respm;
    if (req->id) {
        hd_txn *txn = NULL;
        hd_mailbox_conf mc;
        rc = hd_store_read_begin(app->store, &txn, err);
        if (rc < 0)
            return rc;
        rc = hd_mailbox_get_conf(txn, hd_mail_key(app->mail), a, req->id, &mc, err);
        hd_store_read_end(txn);
        if (rc < 0)
            return rc;
        j->mb = mc.mb;
    } else {
        if (!req->mailbox)
            return hd_err_set(err, HD_EINVAL, "id or mailbox: required");
        rc = hd_mailbox_validate(req->mailbox, err);
        if (rc < 0)
            return rc;
        j->mb = req->mailbox;
    }
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int prc = pthread_create(&th, &attr, test_thread, j);
    pthread_attr_destroy(&attr);
    if (prc != 0)
        return hd_err_set(err, HD_EUNAVAIL, "mail: cannot start a thread");
    return HD_RPC_ASYNC;
}

static int list_outbox(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                       hd_err *err)
{
    const Helpdesk__V1__ListOutboxRequest *req = (const Helpdesk__V1__ListOutboxRequest *)reqm;
    Helpdesk__V1__ListOutboxResponse *resp = (Helpdesk__V1__ListOutboxResponse *)respm;
    hd_app *app = hd_rpc_call_app(call);
    const char *next = "";
    int rc = hd_outbox_list(app->store, hd_rpc_call_arena(call), req->state, req->page_size,
                            req->page_token, &resp->messages, &resp->n_messages, &next, err);
    if (rc < 0)
        return rc;
    resp->next_page_token = (char *)next;
    return HD_OK;
}

static int retry_outbox(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                        hd_err *err)
{
    const Helpdesk__V1__RetryOutboxRequest *req = (const Helpdesk__V1__RetryOutboxRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    Helpdesk__V1__OutboxMessage *out = NULL;
    if (!req->id)
        return hd_err_set(err, HD_EINVAL, "id: required");
    int rc =
        hd_outbox_retry(app->store, hd_rpc_call_arena(call), req->id, hd_clock_now_ms(), &out, err);
    if (rc < 0)
        return rc;
    *(Helpdesk__V1__OutboxMessage *)respm = *out;
    hd_mail_kick(app->mail);
    return HD_OK;
}

static int upload_attachment(hd_rpc_call *call, const ProtobufCMessage *reqm,
                             ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__UploadAttachmentRequest *req =
        (const Helpdesk__V1__UploadAttachmentRequest *)reqm;
    Helpdesk__V1__UploadAttachmentResponse *resp = (Helpdesk__V1__UploadAttachmentResponse *)respm;
    hd_app *app = hd_rpc_call_app(call);
    hd_principal_kind who = hd_rpc_call_identity(call)->kind;
    if (who != HD_PRINCIPAL_STAFF && who != HD_PRINCIPAL_SERVICE)
        return hd_err_set(err, HD_EPERM, "upload: staff and services only");
    char hex[HD_BLOB_HEX_LEN + 1];
    int rc = hd_blob_upload(app->store, req->data.data, req->data.len, hex, err);
    if (rc < 0)
        return rc;
    resp->sha256 = hd_arena_strdup(hd_rpc_call_arena(call), hex);
    resp->size = req->data.len;
    return resp->sha256 ? HD_OK : hd_err_set(err, HD_ENOMEM, "upload: out of memory");
}

static int get_attachment(hd_rpc_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm,
                          hd_err *err)
{
    const Helpdesk__V1__GetAttachmentRequest *req =
        (const Helpdesk__V1__GetAttachmentRequest *)reqm;
    Helpdesk__V1__GetAttachmentResponse *resp = (Helpdesk__V1__GetAttachmentResponse *)respm;
    hd_app *app = hd_rpc_call_app(call);
    hd_principal_kind who = hd_rpc_call_identity(call)->kind;
    if (who != HD_PRINCIPAL_STAFF && who != HD_PRINCIPAL_SERVICE)
        return hd_err_set(err, HD_EPERM, "attachment: staff and services only");
    hd_txn *txn = NULL;
    const void *data;
    size_t len;
    int rc = hd_store_read_begin(app->store, &txn, err);
    if (rc < 0)
        return rc;
    rc = hd_blob_get(txn, req->sha256, &data, &len, err);
    if (rc == 0) {
        /* LMDB memory is only valid inside the transaction: copy into the call's arena. */
        resp->data.data = hd_arena_alloc(hd_rpc_call_arena(call), len ? len : 1);
        if (resp->data.data) {
            memcpy(resp->data.data, data, len);
            resp->data.len = len;
        } else {
            rc = hd_err_set(err, HD_ENOMEM, "attachment: out of memory");
        }
    }
    hd_store_read_end(txn);
    if (rc == HD_EINVAL)
        return hd_err_set(err, HD_EINVAL, "sha256: not 64 lower-case hex digits");
    return rc;
}

static int list_undeliverable(hd_rpc_call *call, const ProtobufCMessage *reqm,
                              ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__ListUndeliverableRequest *req =
        (const Helpdesk__V1__ListUndeliverableRequest *)reqm;
    Helpdesk__V1__ListUndeliverableResponse *resp =
        (Helpdesk__V1__ListUndeliverableResponse *)respm;
    hd_app *app = hd_rpc_call_app(call);
    const char *next = "";
    int rc =
        hd_undeliverable_list(app->store, hd_rpc_call_arena(call), req->page_size, req->page_token,
                              &resp->addresses, &resp->n_addresses, &next, err);
    if (rc < 0)
        return rc;
    resp->next_page_token = (char *)next;
    return HD_OK;
}

static int clear_undeliverable(hd_rpc_call *call, const ProtobufCMessage *reqm,
                               ProtobufCMessage *respm, hd_err *err)
{
    const Helpdesk__V1__ClearUndeliverableRequest *req =
        (const Helpdesk__V1__ClearUndeliverableRequest *)reqm;
    hd_app *app = hd_rpc_call_app(call);
    hd_arena *a = hd_rpc_call_arena(call);
    const hd_identity *id = hd_rpc_call_identity(call);
    hd_tickets_actor actor = {HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SYSTEM, id->id};
    if (id->kind == HD_PRINCIPAL_STAFF)
        actor.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_STAFF;
    else if (id->kind == HD_PRINCIPAL_SERVICE)
        actor.kind = HELPDESK__V1__ACTOR_KIND__ACTOR_KIND_SERVICE;
    hd_tickets_committed *committed = hd_arena_calloc(a, 1, sizeof *committed);
    Helpdesk__V1__UndeliverableAddress *out = NULL;
    if (!committed)
        return hd_err_set(err, HD_ENOMEM, "mail: out of memory");
    int rc = hd_undeliverable_clear_write(app->store, a, req->address, &actor, hd_clock_now_ms(),
                                          committed, &out, err);
    if (rc < 0)
        return rc;
    hd_tickets_bus_publish(app->bus, committed);
    *(Helpdesk__V1__UndeliverableAddress *)respm = *out;
    return HD_OK;
}

#define MAIL_METHOD(name, req, resp, fn)                                                           \
    {                                                                                              \
        .path = "/helpdesk.v1.MailService/" name, .kind = HD_RPC_UNARY,                            \
        .request = &helpdesk__v1__##req##__descriptor,                                             \
        .response = &helpdesk__v1__##resp##__descriptor, .unary = fn, .permission = HD_PERM_ADMIN, \
    }

static const hd_rpc_method methods[] = {
    MAIL_METHOD("AddMailbox", add_mailbox_request, mailbox, add_mailbox),
    MAIL_METHOD("ListMailboxes", list_mailboxes_request, list_mailboxes_response, list_mailboxes),
    MAIL_METHOD("UpdateMailbox", update_mailbox_request, mailbox, update_mailbox),
    MAIL_METHOD("RemoveMailbox", remove_mailbox_request, remove_mailbox_response, remove_mailbox),
    MAIL_METHOD("TestMailbox", test_mailbox_request, test_mailbox_response, test_mailbox),
    MAIL_METHOD("ListOutbox", list_outbox_request, list_outbox_response, list_outbox),
    MAIL_METHOD("RetryOutbox", retry_outbox_request, outbox_message, retry_outbox),
    MAIL_METHOD("ListUndeliverable", list_undeliverable_request, list_undeliverable_response,
                list_undeliverable),
    MAIL_METHOD("ClearUndeliverable", clear_undeliverable_request, undeliverable_address,
                clear_undeliverable),
    {
        .path = "/helpdesk.v1.MailService/UploadAttachment",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__upload_attachment_request__descriptor,
        .response = &helpdesk__v1__upload_attachment_response__descriptor,
        .unary = upload_attachment,
        .permission = HD_PERM_TICKET_WRITE,
    },
    {
        .path = "/helpdesk.v1.MailService/GetAttachment",
        .kind = HD_RPC_UNARY,
        .request = &helpdesk__v1__get_attachment_request__descriptor,
        .response = &helpdesk__v1__get_attachment_response__descriptor,
        .unary = get_attachment,
        .permission = HD_PERM_TICKET_READ,
    },
};

const hd_rpc_method *hd_mail_api_methods(size_t *n)
{
    *n = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
