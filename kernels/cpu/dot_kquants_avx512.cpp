// K-quant kernels, avx512+vnni variant (compiled with the flags of dot_avx512.cpp).
#define IG_KQ_VNNI 1
#define IG_KQ_AVX512 1
#define IG_KQ_TABLE_FN kquant_avx512_table
#define IG_KQ_TABLE_NAME "avx512+vnni"
#include "kernels/cpu/dot_kquants_x86_impl.hpp"
