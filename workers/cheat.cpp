#include "workers/cheat.hpp"

#include <algorithm>

#include "common/inference_receipt.hpp"

namespace ig::workers {
namespace {

uint64_t mix(uint64_t a, uint64_t b) {
  uint64_t z = a ^ (b + 0x9e3779b97f4a7c15ull + (a << 6) + (a >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

bool cheats_on(const CheatOptions& c, uint64_t task_id) {
  if (!c.enabled()) return false;
  return mix(c.seed, task_id) % 1000 < c.rate_milli;
}

uint32_t alter_one_token(receipt::TaskResult& r, const CatalogModel& model, const CheatOptions& c, uint64_t task_id) {
  if (r.output.empty()) return 0;
  const uint64_t h = mix(c.seed ^ 0x5eed, task_id);
  const uint32_t step = static_cast<uint32_t>(h % r.output.size());
  const uint32_t vocab = static_cast<uint32_t>(std::max(2, model.model->config().vocab));
  const auto& cfg = model.model->config();
  uint32_t replacement = static_cast<uint32_t>((h >> 20) % vocab);
  // Another token, and never an end-of-generation one: that would break the stop rule and be
  // caught for that instead.
  while (replacement == r.output[step] || cfg.is_eog(static_cast<int32_t>(replacement)))
    replacement = (replacement + 1) % vocab;
  r.output[step] = replacement;
  r.fingerprints[step].token = static_cast<int32_t>(replacement);  // the claim stays self-consistent
  // Text and receipt by the same rules an honest miner uses, so that only the token is wrong.
  (void)receipt::reseal(*model.model, r);
  return step;
}

}  // namespace ig::workers
