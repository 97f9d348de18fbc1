// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c).
#define IG_VNNI 0
#define IG_TABLE_FN avx2_table
#define IG_TABLE_NAME "avx2"
#include "kernels/cpu/dot_x86_impl.hpp"
