/*
 * fuzz.h: what every fuzz target defines (libFuzzer's entry points), for
 * tests/fuzz/fuzz-*.c and the corpus driver (driver.c).
 */
#ifndef RCP_FUZZ_H
#define RCP_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; always returns 0 (libFuzzer's rule). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: set-up once per process, before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#endif
