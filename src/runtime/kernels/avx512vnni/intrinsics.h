// <immintrin.h> for the AVX-512 files. GCC 12's AVX-512 headers fill unused
// lanes from _mm512_undefined_*(), which its own -Wuninitialized flags at
// every call (a known false positive); clang has no -Wmaybe-uninitialized
// and would warn about the pragma. The pragmas hold for the rest of the file
// that includes this.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
