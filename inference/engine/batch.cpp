#include "inference/engine/batch.hpp"

#include <string>

namespace ig::engine {
namespace {
double seconds_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

Expected<BatchGenerator> BatchGenerator::create(const Model& model, kernels::Backend& backend, int max_sequences) {
  if (max_sequences < 1 || max_sequences > Forward::kChunk)
    return fail("engine.bad_batch", "a batch holds 1.." + std::to_string(Forward::kChunk) +
                                        " sequences, not " + std::to_string(max_sequences));
  return BatchGenerator(model, backend, max_sequences);
}

Expected<uint64_t> BatchGenerator::add(GenerationRequest r) {
  const auto& c = forward_.model().config();
  if (full())
    return fail("engine.batch_full", "the batch already runs " + std::to_string(max_sequences_) + " sequences");
  IG_TRY_ASSIGN(needed, generation_context(c, r.prompt.size(), r.params));
  for (int32_t t : r.prompt)
    if (t < 0 || t >= c.vocab)
      return fail("engine.bad_token", "token id " + std::to_string(t) + " is outside the vocabulary");
  IG_TRY_ASSIGN(kv, KvCache::create(c, needed));
  const uint64_t id = next_id_++;
  Sequence s{id, std::move(r.prompt), std::move(kv),
             GenerationState{r.params, std::move(r.stop_ids), std::move(r.on_token), {}}, {}, {}};
  s.state.gen.prompt_tokens = int(s.prompt.size());
  running_.push_back(std::move(s));
  return id;
}

std::vector<BatchGenerator::Finished> BatchGenerator::step() {
  std::vector<Finished> done;
  if (running_.empty()) return done;
  std::vector<Piece> pieces;
  std::vector<Sequence*> of_piece;
  for (Sequence& s : running_) {
    if (!s.prompt.empty())
      pieces.push_back({&s.kv, s.prompt, int(s.prompt.size()) - 1});
    else
      pieces.push_back({&s.kv, std::span<const int32_t>(&s.state.gen.tokens.back(), 1), 0});
    of_piece.push_back(&s);
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto st = forward_.eval(pieces, [&](int piece, int, std::span<const float> logits) {
    of_piece[size_t(piece)]->last.assign(logits.begin(), logits.end());
  });
  const auto t1 = std::chrono::steady_clock::now();
  if (!st) {
    for (Sequence& s : running_) done.push_back({s.id, fail(st.error())});
    running_.clear();
    return done;
  }
  for (auto it = running_.begin(); it != running_.end();) {
    Sequence& s = *it;
    if (!s.prompt.empty()) {
      s.state.gen.prefill_seconds = seconds_between(t0, t1);
      s.decode_start = t1;
      s.prompt.clear();
    }
    if (s.state.step(s.last)) {
      ++it;
      continue;
    }
    s.state.gen.decode_seconds = seconds_between(s.decode_start, std::chrono::steady_clock::now());
    done.push_back({s.id, std::move(s.state.gen)});
    it = running_.erase(it);
  }
  return done;
}

std::vector<Expected<Generation>> generate_batch(const Model& model, kernels::Backend& backend,
                                                 std::vector<GenerationRequest> requests, int max_sequences) {
  std::vector<Expected<Generation>> out(requests.size(), fail("engine.not_run", "not run"));
  auto batch = BatchGenerator::create(model, backend, max_sequences);
  if (!batch) {
    for (auto& r : out) r = fail(batch.error());
    return out;
  }
  std::vector<std::pair<uint64_t, size_t>> index;  // batch id -> request
  size_t next = 0;
  while (next < requests.size() || batch->active() > 0) {
    while (next < requests.size() && !batch->full()) {
      auto id = batch->add(std::move(requests[next]));
      if (id)
        index.emplace_back(*id, next);
      else
        out[next] = fail(id.error());
      ++next;
    }
    for (auto& f : batch->step())
      for (const auto& [id, i] : index)
        if (id == f.id) out[i] = std::move(f.result);
  }
  return out;
}

}  // namespace ig::engine
