/* A bump allocator over a chain of blocks. Large requests get a block of their own. */
#include "server/common/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HD_ARENA_ALIGN   16
#define HD_ARENA_DEFAULT 4096

typedef struct hd_arena_block {
    struct hd_arena_block *next;
    size_t size; /* usable bytes in data */
    size_t used;
    _Alignas(HD_ARENA_ALIGN) unsigned char data[];
} hd_arena_block;

struct hd_arena {
    hd_arena_block *head; /* current block; the first block is last in the chain */
    hd_arena_block *first;
    size_t block_size;
    size_t used;
};

static hd_arena_block *block_new(size_t size)
{
    hd_arena_block *b = malloc(sizeof(*b) + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

hd_arena *hd_arena_create(size_t first_block)
{
    hd_arena *a = malloc(sizeof(*a));
    if (!a)
        return NULL;
    a->block_size = first_block ? first_block : HD_ARENA_DEFAULT;
    a->first = block_new(a->block_size);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->head = a->first;
    a->used = 0;
    return a;
}

static void free_chain_until(hd_arena_block *b, const hd_arena_block *stop)
{
    while (b && b != stop) {
        hd_arena_block *next = b->next;
        free(b);
        b = next;
    }
}

void hd_arena_destroy(hd_arena *a)
{
    if (!a)
        return;
    free_chain_until(a->head, NULL);
    free(a);
}

void hd_arena_reset(hd_arena *a)
{
    free_chain_until(a->head, a->first);
    a->first->next = NULL;
    a->first->used = 0;
    a->head = a->first;
    a->used = 0;
}

void *hd_arena_alloc(hd_arena *a, size_t n)
{
    size_t need = (n + HD_ARENA_ALIGN - 1) & ~(size_t)(HD_ARENA_ALIGN - 1);
    if (need < n)
        return NULL;
    if (need == 0)
        need = HD_ARENA_ALIGN;
    hd_arena_block *b = a->head;
    if (b->size - b->used < need) {
        size_t size = need > a->block_size ? need : a->block_size;
        if (size > SIZE_MAX - sizeof(hd_arena_block))
            return NULL;
        hd_arena_block *nb = block_new(size);
        if (!nb)
            return NULL;
        nb->next = a->head;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += n;
    return p;
}

void *hd_arena_calloc(hd_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = hd_arena_alloc(a, count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *hd_arena_grow(hd_arena *a, void *items, size_t n, size_t *cap, size_t elem_size,
                    size_t first_cap)
{
    if (n < *cap)
        return items;
    size_t ncap = *cap ? *cap : first_cap;
    if (ncap == 0 || (*cap && ncap > SIZE_MAX / 2))
        return NULL;
    if (*cap)
        ncap *= 2;
    if (ncap <= n || (elem_size && ncap > SIZE_MAX / elem_size))
        return NULL;
    void *p = hd_arena_alloc(a, ncap * elem_size);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, items, n * elem_size);
    *cap = ncap;
    return p;
}

char *hd_arena_strndup(hd_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *d = hd_arena_alloc(a, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *hd_arena_strdup(hd_arena *a, const char *s)
{
    return s ? hd_arena_strndup(a, s, strlen(s)) : NULL;
}

char *hd_arena_printf(hd_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = hd_arena_alloc(a, (size_t)n + 1);
    if (!d)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

size_t hd_arena_used(const hd_arena *a)
{
    return a->used;
}

static void *pb_alloc(void *data, size_t size)
{
    return hd_arena_alloc(data, size);
}

static void pb_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

void hd_arena_pb_allocator(hd_arena *a, ProtobufCAllocator *pa)
{
    pa->alloc = pb_alloc;
    pa->free = pb_free;
    pa->allocator_data = a;
}
