// <immintrin.h> for the x86 kernel files, which are compiled with their own -m flags.
//
// GCC 12's AVX-512 headers build "undefined" vectors by self-assignment (`__m512 __Y = __Y;`),
// which its own -Wuninitialized then reports at every cast such as _mm512_castps512_ps256:
// GCC bug 105593, fixed in GCC 13. The values are never read. Silenced for the header only.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
