/* Key builders of the mail room's records (see keys.h). */
#include "server/mail/keys.h"

hd_key *hd_mailkey_mailbox(hd_key *k, uint64_t mailbox_id)
{
    hd_key_init(k);
    return hd_key_u64(hd_key_u8(k, HD_MAILKEY_MAILBOX), mailbox_id);
}

hd_key *hd_mailkey_state(hd_key *k, uint64_t mailbox_id)
{
    hd_key_init(k);
    return hd_key_u64(hd_key_u8(k, HD_MAILKEY_STATE), mailbox_id);
}

hd_key *hd_mailkey_ingest(hd_key *k, uint64_t mailbox_id, uint32_t uid_validity, uint32_t uid)
{
    hd_key_init(k);
    hd_key_u64(hd_key_u8(k, HD_MAILKEY_INGEST), mailbox_id);
    return hd_key_u32(hd_key_u32(k, uid_validity), uid);
}

hd_key *hd_mailkey_participant(hd_key *k, uint64_t ticket_id, const char *addr)
{
    hd_key_init(k);
    return hd_key_str(hd_key_u64(hd_key_u8(k, HD_MAILKEY_PARTICIPANT), ticket_id), addr);
}

int hd_mailkey_participant_read(const void *key, size_t klen, hd_arena *a, uint64_t *ticket_id,
                                char **addr)
{
    hd_key_reader r;
    uint8_t kind;
    hd_key_reader_init(&r, key, klen);
    if (hd_key_read_u8(&r, &kind, NULL) < 0 || kind != HD_MAILKEY_PARTICIPANT ||
        hd_key_read_u64(&r, ticket_id, NULL) < 0 || hd_key_read_str(&r, a, addr, NULL, NULL) < 0)
        return -1;
    return 0;
}

hd_key *hd_mailkey_thread(hd_key *k, uint64_t ticket_id, uint64_t seq)
{
    hd_key_init(k);
    return hd_key_u64(hd_key_u64(hd_key_u8(k, HD_MAILKEY_THREAD), ticket_id), seq);
}

hd_key *hd_mailkey_undeliverable(hd_key *k, const char *addr)
{
    hd_key_init(k);
    return hd_key_str(hd_key_u8(k, HD_MAILKEY_UNDELIVERABLE), addr);
}

hd_key *hd_mailkey_msgid(hd_key *k, const char *message_id)
{
    hd_key_init(k);
    return hd_key_str(k, message_id);
}

hd_key *hd_mailkey_outbox(hd_key *k, uint64_t id)
{
    hd_key_init(k);
    return hd_key_u64(k, id);
}

hd_key *hd_mailkey_original(hd_key *k, uint64_t ticket_id, uint64_t message_id)
{
    hd_key_init(k);
    return hd_key_u64(hd_key_u64(hd_key_u8(k, HD_MAILKEY_ORIGINAL), ticket_id), message_id);
}

hd_key *hd_mailkey_blob(hd_key *k, const char *sha256_hex)
{
    hd_key_init(k);
    return hd_key_str(hd_key_u8(k, HD_MAILKEY_BLOB), sha256_hex);
}

hd_key *hd_mailkey_ticket_mailbox(hd_key *k, uint64_t ticket_id)
{
    hd_key_init(k);
    return hd_key_u64(hd_key_u8(k, HD_MAILKEY_TICKET_MAILBOX), ticket_id);
}

hd_key *hd_mailkey_attachment(hd_key *k, uint64_t ticket_id, uint64_t message_id, uint32_t i)
{
    hd_key_init(k);
    hd_key_u64(hd_key_u64(hd_key_u8(k, HD_MAILKEY_ATTACHMENT), ticket_id), message_id);
    return hd_key_u32(k, i);
}
