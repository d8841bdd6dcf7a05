/* The services the embedded descriptor set declares, computed straight from the
 * FileDescriptorSet with protobuf-c (independently of the reflection index), so the
 * reflection tests follow the protos as services are added. */
#ifndef HD_TESTS_EXPECTED_SERVICES_H
#define HD_TESTS_EXPECTED_SERVICES_H

#include <stddef.h>

/* Returns the fully-qualified service names, sorted, in a static array (valid for the
 * process's life); *n gets the count. Aborts the test process if the set does not unpack. */
const char *const *expected_services(size_t *n);

/* Returns how many files the transitive import closure of file holds, itself included
 * (0 when the set has no such file). */
size_t expected_closure_size(const char *file);

#endif
