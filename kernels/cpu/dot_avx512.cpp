// AVX-512F dense kernels (bitwise equal to the AVX2 ones, see dense512_n) with
// the AVX-VNNI quantized kernels. Compiled with -mavx512f -mavxvnni as well.
#define IG_VNNI 1
#define IG_AVX512 1
#define IG_TABLE_FN avx512_table
#define IG_TABLE_NAME "avx512+vnni"
#include "kernels/cpu/dot_x86_impl.hpp"
