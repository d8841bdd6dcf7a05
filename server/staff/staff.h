/* The staff domain: staff members (role, active flag, groups, capacity, last assignment),
 * groups (teams) with a per-group membership index, and password credentials kept apart
 * from the record. Txn-level functions are usable inside other modules' mutations (auto-
 * assign reads members and updates last_assigned_time in the ticket's txn). */
#ifndef HD_STAFF_STAFF_H
#define HD_STAFF_STAFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/staff.pb-c.h"
#include "server/common/arena.h"
#include "server/common/err.h"
#include "server/store/store.h"

#define HD_STAFF_NAME_MAX     256  /* characters */
#define HD_STAFF_EMAIL_MAX    254  /* bytes */
#define HD_STAFF_GROUP_MAX    64   /* characters of a group name */
#define HD_STAFF_DESC_MAX     1024 /* bytes of a group description */
#define HD_STAFF_GROUPS_MAX   64   /* groups of one member */
#define HD_STAFF_PAGE_DEFAULT 100
#define HD_STAFF_PAGE_MAX     1000

/* Sequences (hd_store_seq_next). */
#define HD_STAFF_SEQ_STAFF "staff"
#define HD_STAFF_SEQ_GROUP "group"

/* ---- Key layouts (first byte tags the entry kind within the table) -----------------------
 * STAFF:  's' u64 id -> Staff;  'p' u64 id -> StaffCredential;  'e' str email -> u64 id (BE)
 * GROUPS: 'g' u64 id -> Group;  'n' str name -> u64 id (BE);  'm' u64 group + u64 staff -> "" */
hd_key *hd_staff_key_id(hd_key *k, uint64_t id);
hd_key *hd_staff_key_credential(hd_key *k, uint64_t id);
hd_key *hd_staff_key_email(hd_key *k, const char *email);
hd_key *hd_staff_key_group(hd_key *k, uint64_t group_id);
hd_key *hd_staff_key_group_name(hd_key *k, const char *name);
/* Membership entry; with staff_id == 0 and only the first 9 bytes, a group's scan prefix. */
hd_key *hd_staff_key_member(hd_key *k, uint64_t group_id, uint64_t staff_id);
hd_key *hd_staff_key_members_prefix(hd_key *k, uint64_t group_id);

/* ---- Txn-level access (read or write txn; any module) ----------------------------------- */

/* Reads staff member id into arena memory: *out borrowed until the arena resets. Returns 0,
 * HD_ENOTFOUND ("staff 7: not found"), HD_ECORRUPT, HD_ENOMEM. */
int hd_staff_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Staff **out, hd_err *err);

/* Finds the id of the staff member with email (any case). Returns 0, HD_ENOTFOUND. */
int hd_staff_find_email(hd_txn *txn, const char *email, uint64_t *id, hd_err *err);

/* Stores s (s->id must exist) and brings the membership index in line with s->group_ids
 * (compared with the stored record). Write txn. For small changes made by other modules'
 * mutations, e.g. last_assigned_time. Returns 0, HD_ENOTFOUND or a store error. */
int hd_staff_put(hd_txn *txn, hd_arena *a, const Helpdesk__V1__Staff *s, hd_err *err);

/* The staff ids of group_id's members (active or not), ascending, in arena memory (*ids
 * borrowed until the arena resets; NULL when *n == 0). Returns 0 or a store error. */
int hd_staff_group_members(hd_txn *txn, hd_arena *a, uint64_t group_id, uint64_t **ids, size_t *n,
                           hd_err *err);

/* Reads group id. Returns 0, HD_ENOTFOUND ("group 3: not found"), HD_ECORRUPT, HD_ENOMEM. */
int hd_staff_group_get(hd_txn *txn, hd_arena *a, uint64_t id, Helpdesk__V1__Group **out,
                       hd_err *err);

/* Whether staff member s is in group_id. */
bool hd_staff_in_group(const Helpdesk__V1__Staff *s, uint64_t group_id);

/* ---- Whole operations (each one group-committed mutation, with an audit event) ---------- */

/* Who acts, for audit events: a staff id, or 0 for the bootstrap admin / the system. */
typedef struct hd_staff_actor {
    int kind; /* helpdesk.v1.ActorKind */
    uint64_t id;
} hd_staff_actor;

/* Validates req and creates the member (password hashed with argon2id on the caller's
 * thread first). Returns 0 with *out in arena memory, HD_EINVAL naming the field,
 * HD_EEXIST ("email: a staff member with x@y exists"), HD_ENOTFOUND ("group_ids: no group
 * 3"), or a store error. */
int hd_staff_create(hd_store *s, hd_arena *a, const Helpdesk__V1__CreateStaffRequest *req,
                    const hd_staff_actor *actor, Helpdesk__V1__Staff **out, hd_err *err);

/* Applies the fields named in mask (name, role, group_ids, capacity, active; NULL or empty =
 * all but active)
 * from upd to member upd->id, and sets the password when password is non-empty.
 * Returns 0 with *out, HD_EINVAL, HD_ENOTFOUND, or a store error. */
int hd_staff_update(hd_store *s, hd_arena *a, const Helpdesk__V1__Staff *upd,
                    const char *const *mask, size_t n_mask, const char *password,
                    const hd_staff_actor *actor, Helpdesk__V1__Staff **out, hd_err *err);

/* Sets active = false. Returns 0 with *out, HD_ENOTFOUND, or a store error. */
int hd_staff_deactivate(hd_store *s, hd_arena *a, uint64_t id, const hd_staff_actor *actor,
                        Helpdesk__V1__Staff **out, hd_err *err);

/* Adds (add = true) or removes member staff_id to/from group_id. Returns 0 with *out,
 * HD_ENOTFOUND (either id), HD_EINVAL (too many groups), or a store error. */
int hd_staff_membership(hd_store *s, hd_arena *a, uint64_t group_id, uint64_t staff_id, bool add,
                        const hd_staff_actor *actor, Helpdesk__V1__Staff **out, hd_err *err);

/* One page of staff by ascending id, optionally only group members / active ones.
 * page_token "" = first page. Returns 0 with out filled in arena memory, HD_EINVAL. */
int hd_staff_list(hd_store *s, hd_arena *a, const Helpdesk__V1__ListStaffRequest *req,
                  Helpdesk__V1__ListStaffResponse *out, hd_err *err);

/* Creates a group with a unique name; auto_assign sets Group.auto_assign (new tickets filed
 * under it are auto-assigned). Returns 0 with *out in a's memory, HD_EINVAL, HD_EEXIST. */
int hd_staff_group_create(hd_store *s, hd_arena *a, const char *name, const char *description,
                          bool auto_assign, const hd_staff_actor *actor, Helpdesk__V1__Group **out,
                          hd_err *err);

/* Every group by ascending id. Returns 0 with out filled in arena memory. */
int hd_staff_group_list(hd_store *s, hd_arena *a, Helpdesk__V1__ListGroupsResponse *out,
                        hd_err *err);

#endif
