// Entry point of the CUDA backend. Defined in cuda_backend.cu when nvcc was
// found at configure time, otherwise in cuda_absent.cpp (which reports that
// the build has no CUDA support).
#pragma once

#include <memory>

#include "kernels/kernels.hpp"

namespace ig::kernels {

Expected<std::unique_ptr<Backend>> make_cuda_backend();

}  // namespace ig::kernels
