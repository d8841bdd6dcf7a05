/* Request-scoped memory (nginx pools): many small allocations, freed all at once.
 * Handlers allocate from their call's arena and never free by hand. Not thread-safe:
 * one arena belongs to one call or one thread at a time. */
#ifndef HD_COMMON_ARENA_H
#define HD_COMMON_ARENA_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct hd_arena hd_arena;

/* Creates an arena whose first block holds `first_block` bytes (0 = 4 KiB).
 * Returns an owned arena (free with hd_arena_destroy), or NULL when out of memory. */
hd_arena *hd_arena_create(size_t first_block);

/* Frees the arena and everything allocated from it. NULL is allowed. */
void hd_arena_destroy(hd_arena *a);

/* Frees everything allocated from the arena but keeps its first block for reuse. */
void hd_arena_reset(hd_arena *a);

/* Returns n bytes aligned for any type, borrowed until the arena is reset or destroyed;
 * NULL when out of memory. n == 0 returns a valid unique pointer. */
void *hd_arena_alloc(hd_arena *a, size_t n);

/* Like hd_arena_alloc, zero-filled; count*size overflow returns NULL. */
void *hd_arena_calloc(hd_arena *a, size_t count, size_t size);

/* Makes room for element n of a growable array kept in the arena (elements of elem_size
 * bytes, capacity *cap). Returns items itself while n < *cap; otherwise a new array of twice
 * the capacity (first_cap when *cap is 0) holding a copy of the first n elements, and sets
 * *cap (the old array stays allocated until the arena is reset). Returns NULL, *cap
 * unchanged, when out of memory or the size overflows. Borrowed like hd_arena_alloc. */
void *hd_arena_grow(hd_arena *a, void *items, size_t n, size_t *cap, size_t elem_size,
                    size_t first_cap);

/* Copies n bytes of s and a terminating NUL into the arena; borrowed like
 * hd_arena_alloc. NULL when out of memory. */
char *hd_arena_strndup(hd_arena *a, const char *s, size_t n);

/* Copies the NUL-terminated s into the arena. s may be NULL (returns NULL). */
char *hd_arena_strdup(hd_arena *a, const char *s);

/* printf into the arena; returns the formatted string or NULL when out of memory. */
char *hd_arena_printf(hd_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Total bytes handed out since creation or the last reset (for statistics/limits). */
size_t hd_arena_used(const hd_arena *a);

/* Fills *pa with a protobuf-c allocator that allocates from a and whose free is a no-op,
 * so messages unpacked with it need no protobuf_c_message_free_unpacked. The allocator
 * borrows a: it is valid as long as a is. */
void hd_arena_pb_allocator(hd_arena *a, ProtobufCAllocator *pa);

#endif
