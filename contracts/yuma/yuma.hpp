// Public header of ig_yuma: Yuma consensus as a pure function (docs/yuma.md).
//
//   ig::yuma::EpochInput in;          // stake, last updates, registrations, permits, weights, bonds
//   in.params.yuma3 = true;           // ...hyperparameters (§4)
//   auto out = ig::yuma::run_epoch(in);   // Expected<EpochOutput>: shares, amounts, new bonds
//
// Stored weight rows are produced by max_upscale_weights at submission time.
#pragma once

#include "contracts/yuma/epoch.hpp"       // IWYU pragma: export
#include "contracts/yuma/fixed.hpp"       // IWYU pragma: export
#include "contracts/yuma/submission.hpp"  // IWYU pragma: export
