// Built only when nvcc was not found: the CUDA backend is not part of this build.
#include "kernels/cuda/cuda_entry.hpp"

namespace ig::kernels {

bool cuda_available() { return false; }

Expected<std::unique_ptr<Backend>> make_cuda_backend() {
  return fail("kernels.no_cuda", "this build has no CUDA backend (nvcc was not found at configure time)");
}

}  // namespace ig::kernels
