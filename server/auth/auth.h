/* Tokens: random 256-bit secrets handed to staff, services and customers, stored only as
 * a keyed BLAKE2b hash (libsodium) so the check per call is one hash and one B-tree lookup.
 * Also the server's bootstrap admin token, staff password login (argon2id, password.h),
 * listing and revoking, each audited (server/audit). */
#ifndef HD_AUTH_AUTH_H
#define HD_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpdesk/v1/auth.pb-c.h"
#include "server/common/err.h"
#include "server/rpc/rpc.h"
#include "server/store/store.h"

/* Secret text: "hd_" + 43 base64url characters + NUL. */
#define HD_AUTH_TOKEN_TEXT_MAX 48

typedef struct hd_auth hd_auth;

/* Loads the server's token-hashing key from the store, creating it on first use.
 * Returns 0 with *out owned (free with hd_auth_destroy), or the store's error. The store is
 * borrowed and must outlive the hd_auth. */
int hd_auth_open(hd_auth **out, hd_store *store, hd_err *err);

/* Frees a. NULL is allowed. */
void hd_auth_destroy(hd_auth *a);

/* Creates a token for the principal described by tmpl (name, principal_kind, principal_id,
 * role, scopes, expire_time; id and create_time are assigned) and stores its record.
 * Writes the secret into text (size >= HD_AUTH_TOKEN_TEXT_MAX) and the new id into *id.
 * The secret is shown once; only its hash is kept. Returns 0 or a store error. */
int hd_auth_issue(hd_auth *a, const Helpdesk__V1__ApiToken *tmpl, char *text, size_t n,
                  uint64_t *id, hd_err *err);

/* On a data dir's first start: creates the bootstrap admin token, writes it to
 * token_file (mode 0600, via a temp file and rename) and into text. When the store already
 * has one, leaves everything alone and sets *created = 0. Returns 0 or an error (HD_EIO
 * names the file). */
int hd_auth_bootstrap(hd_auth *a, const char *token_file, char *text, size_t n, int *created,
                      hd_err *err);

/* The serving layer's auth hook (hd_rpc_auth_fn); ud is the hd_auth. Thread-safe.
 * Unknown, malformed, expired and revoked tokens are HD_EUNAUTH; a valid token without the
 * permission is HD_EPERM (see hd_auth_allows). */
int hd_auth_check(void *ud, const char *token, uint32_t permission, hd_identity *who, hd_err *err);

/* Whether who holds permission (an HD_PERM_* value from server/api/perm.h). Admins hold
 * everything; the table is in auth.c. */
int hd_auth_allows(const hd_identity *who, uint32_t permission);

/* Revokes the token with id at the current time (audited as the system). Returns 0,
 * HD_ENOTFOUND or a store error. The next call presenting it is refused. */
int hd_auth_revoke(hd_auth *a, uint64_t id, hd_err *err);

/* Lifetime of a login session token. */
#define HD_AUTH_SESSION_TTL_MS (12 * 3600 * 1000LL)

/* hd_auth_issue with the issuer recorded in the audit event (actor_kind is a
 * helpdesk.v1.ActorKind). Returns as hd_auth_issue. */
int hd_auth_issue_by(hd_auth *a, const Helpdesk__V1__ApiToken *tmpl, int actor_kind,
                     uint64_t actor_id, char *text, size_t n, uint64_t *id, hd_err *err);

/* hd_auth_revoke with the revoker recorded; when arena is set, *out gets the revoked record
 * (arena memory, borrowed until it resets). Revoking twice keeps the first time. */
int hd_auth_revoke_by(hd_auth *a, uint64_t id, int actor_kind, uint64_t actor_id, hd_arena *arena,
                      Helpdesk__V1__ApiToken **out, hd_err *err);

/* Reads the record of token id (no secret) into arena memory. Returns 0, HD_ENOTFOUND. */
int hd_auth_token_get(hd_auth *a, hd_arena *arena, uint64_t id, Helpdesk__V1__ApiToken **out,
                      hd_err *err);

/* Every token record by ascending id (never secrets; revoked and expired ones only when
 * include_inactive), in arena memory: *out borrowed until the arena resets. Returns 0 or a
 * store error. */
int hd_auth_list(hd_auth *a, hd_arena *arena, bool include_inactive, Helpdesk__V1__ApiToken ***out,
                 size_t *n, hd_err *err);

/* Staff password login. Always runs exactly one argon2id verification (a dummy hash for an
 * unknown email), so unknown email, wrong password and deactivated member cost the same and
 * fail alike: HD_EUNAUTH "login: wrong email or password" (audited as auth.login_failed).
 * On success issues a session token (ttl_ms, 0 = HD_AUTH_SESSION_TTL_MS) for the member's
 * role, writes its secret into text (n >= HD_AUTH_TOKEN_TEXT_MAX) and the record into *info
 * (arena memory; info may be NULL). Not on the writer thread. */
int hd_auth_login(hd_auth *a, hd_arena *arena, const char *email, const char *password,
                  int64_t ttl_ms, char *text, size_t n, Helpdesk__V1__ApiToken **info, hd_err *err);

/* hd_auth_login from the caller's address peer (without port; borrowed for the call; NULL
 * = unknown), throttled (throttle.h): after repeated failures for the account or the
 * address, attempts are refused with HD_EFULL "... retry in N s" without a verification
 * until the delay has passed. Failures are counted in the failure's txn, a success clears
 * the account's count in the token's txn. Blocks for the argon2id verification and a
 * commit: run it on a dedicated thread, never on an RPC worker. Returns as hd_auth_login. */
int hd_auth_login_from(hd_auth *a, hd_arena *arena, const char *email, const char *password,
                       const char *peer, int64_t ttl_ms, char *text, size_t n,
                       Helpdesk__V1__ApiToken **info, hd_err *err);

#endif
