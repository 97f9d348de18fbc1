// AVX-512F dense kernels (bitwise equal to the AVX2 ones, see dense512_n) with
// the VNNI quantized kernels, their 256-bit dpbusd in its AVX512-VNNI/VL (EVEX)
// form, so AVX-VNNI is not needed. Compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512vnni as well.
#define IG_VNNI 1
#define IG_AVX512 1
#define IG_TABLE_FN avx512_table
#define IG_TABLE_NAME "avx512+vnni"  // AVX-512F/BW/VL + AVX512-VNNI
#include "kernels/cpu/dot_x86_impl.hpp"
