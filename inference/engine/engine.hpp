// ig_engine public header: models (llama, qwen2, qwen3), the forward pass over one or several
// sequences (forward.hpp), sessions with a KV cache, batched decode of several generations
// (batch.hpp), sampling and generation over an ig_kernels backend.
//
//   IG_TRY_ASSIGN(model, ig::engine::Model::open("m.gguf"));
//   IG_TRY_ASSIGN(backend, ig::kernels::make_backend({ig::kernels::BackendKind::Cpu, 2}));
//   IG_TRY_ASSIGN(gen, ig::engine::generate(model, *backend, prompt_ids, params, eos));
//   auto gens = ig::engine::generate_batch(model, *backend, requests, 4);  // 4 decoded together
#pragma once

#include "inference/engine/batch.hpp"
#include "inference/engine/generator.hpp"
#include "inference/engine/model.hpp"
#include "inference/engine/perplexity.hpp"
#include "inference/engine/sampler.hpp"
#include "inference/engine/session.hpp"
