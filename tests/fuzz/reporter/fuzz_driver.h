/* Regression driver shared by the reporter's fuzz targets: runs the given seeds, then a
 * bounded number of xorshift mutations of each (byte set, bit flip, truncate, splice). */
#ifndef HD_TESTS_FUZZ_REPORTER_DRIVER_H
#define HD_TESTS_FUZZ_REPORTER_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/corpus.h" /* CHECK, the mutation loop */

/* Returns the number of inputs run. */
size_t hd_fuzz_drive(const char *const *seeds, size_t n_seeds, int mutations_per_seed);

#endif
