// AVX2 + FMA + F16C + AVX-VNNI kernels (compiled with -mavxvnni as well).
#define IG_VNNI 1
#define IG_TABLE_FN avxvnni_table
#define IG_TABLE_NAME "avx2+vnni"
#include "kernels/cpu/dot_x86_impl.hpp"
