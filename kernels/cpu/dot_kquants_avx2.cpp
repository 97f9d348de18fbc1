// K-quant kernels, avx2 variant (compiled with the flags of dot_avx2.cpp).
#define IG_KQ_VNNI 0
#define IG_KQ_AVX512 0
#define IG_KQ_TABLE_FN kquant_avx2_table
#define IG_KQ_TABLE_NAME "avx2"
#include "kernels/cpu/dot_kquants_x86_impl.hpp"
