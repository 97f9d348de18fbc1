// K-quant kernels, avx2+vnni variant (compiled with the flags of dot_avxvnni.cpp).
#define IG_KQ_VNNI 1
#define IG_KQ_AVX512 0
#define IG_KQ_TABLE_FN kquant_avxvnni_table
#define IG_KQ_TABLE_NAME "avx2+vnni"
#include "kernels/cpu/dot_kquants_x86_impl.hpp"
