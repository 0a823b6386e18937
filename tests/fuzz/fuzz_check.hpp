// The one assertion the fuzz targets use: a broken invariant prints where
// and traps, so libFuzzer saves the input that broke it.
#pragma once

#include <cstdio>

#define FUZZ_CHECK(cond)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "invariant broken at %s:%d: %s\n", __FILE__,        \
                   __LINE__, #cond);                                           \
      __builtin_trap();                                                        \
    }                                                                          \
  } while (false)
