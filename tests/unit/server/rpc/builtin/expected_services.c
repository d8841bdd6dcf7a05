/* See expected_services.h. */
#include "tests/unit/server/rpc/builtin/expected_services.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "proto/descriptor_set.h"

#define MAX_SERVICES 64

static char *names[MAX_SERVICES];
static size_t count;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *const *expected_services(size_t *n)
{
    if (!count) {
        Google__Protobuf__FileDescriptorSet *set = google__protobuf__file_descriptor_set__unpack(
            NULL, hd_descriptor_set_len, hd_descriptor_set);
        if (!set)
            abort();
        for (size_t f = 0; f < set->n_file; f++) {
            const Google__Protobuf__FileDescriptorProto *fd = set->file[f];
            for (size_t s = 0; s < fd->n_service && count < MAX_SERVICES; s++) {
                size_t len = strlen(fd->package) + strlen(fd->service[s]->name) + 2;
                names[count] = malloc(len);
                if (!names[count])
                    abort();
                snprintf(names[count], len, "%s.%s", fd->package, fd->service[s]->name);
                count++;
            }
        }
        google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
        qsort(names, count, sizeof(names[0]), by_name);
    }
    *n = count;
    return (const char *const *)names;
}

static const Google__Protobuf__FileDescriptorProto *
find_file(const Google__Protobuf__FileDescriptorSet *set, const char *name)
{
    for (size_t f = 0; f < set->n_file; f++)
        if (strcmp(set->file[f]->name, name) == 0)
            return set->file[f];
    return NULL;
}

size_t expected_closure_size(const char *file)
{
    Google__Protobuf__FileDescriptorSet *set = google__protobuf__file_descriptor_set__unpack(
        NULL, hd_descriptor_set_len, hd_descriptor_set);
    if (!set)
        abort();
    const char *seen[256];
    size_t n = 0;
    if (find_file(set, file))
        seen[n++] = file;
    /* Breadth-first over imports; `seen` doubles as the queue. */
    for (size_t i = 0; i < n; i++) {
        const Google__Protobuf__FileDescriptorProto *fd = find_file(set, seen[i]);
        for (size_t d = 0; fd && d < fd->n_dependency; d++) {
            size_t k = 0;
            while (k < n && strcmp(seen[k], fd->dependency[d]) != 0)
                k++;
            if (k == n && n < 256)
                seen[n++] = fd->dependency[d];
        }
    }
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    return n;
}
