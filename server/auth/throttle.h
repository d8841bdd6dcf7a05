/* Login throttling: failed staff logins counted per account (email) and per peer address in
 * the store (SETTINGS table), so a restart does not reset an attacker's budget. After a few
 * failures inside a window each further attempt must wait an exponentially growing delay;
 * a success clears the account's count. */
#ifndef HD_AUTH_THROTTLE_H
#define HD_AUTH_THROTTLE_H

#include <stdint.h>

#include "server/common/err.h"
#include "server/store/store.h"

/* Failures allowed per account / per peer before delays start. */
#define HD_THROTTLE_ACCOUNT_FREE 5
#define HD_THROTTLE_PEER_FREE    20
/* Failures older than this are forgotten; also the longest delay. */
#define HD_THROTTLE_WINDOW_MS (15 * 60 * 1000LL)

/* How long a login for email (case-insensitive) from peer (an address without port; NULL or
 * "" = unknown) must still wait at time now: 0 when it may proceed, else milliseconds.
 * Reads through txn (read or write). Returns 0 with *wait_ms set, or a store error. */
int hd_throttle_wait(hd_txn *txn, const char *email, const char *peer, int64_t now,
                     int64_t *wait_ms, hd_err *err);

/* Records one failed login for email and peer at now (in the write txn; replayable: it reads
 * the count through txn). Returns 0 or a store error. */
int hd_throttle_fail(hd_txn *txn, const char *email, const char *peer, int64_t now, hd_err *err);

/* Forgets email's failures (after a successful login). Returns 0 or a store error. */
int hd_throttle_clear(hd_txn *txn, const char *email, hd_err *err);

/* The delay owed after failures within the window beyond free ones: 0 up to free, then
 * 1 s, 2 s, 4 s ... capped at HD_THROTTLE_WINDOW_MS. */
int64_t hd_throttle_delay_ms(uint32_t failures, uint32_t free);

#endif
