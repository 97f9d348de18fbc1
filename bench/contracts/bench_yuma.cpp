// bench_yuma: wall time of one Yuma epoch (ig::yuma::run_epoch) on dense random weights,
// 64 validators × 1 024 miners and 256 × 4 096, for each bond model. Weights come from a fixed
// seed, so every run times the same work. Prints one JSON object per line.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "contracts/yuma/yuma.hpp"

namespace {

using namespace ig::yuma;

struct Shape {
  std::size_t validators;
  std::size_t miners;
  int epochs;
};

struct Model {
  const char* name;
  bool yuma3;
  bool liquid_alpha;
};

// Validators (uids 0..V-1) hold stake and weight every miner; miners hold none.
EpochInput make_subnet(const Shape& s, const Model& m, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::size_t n = s.validators + s.miners;
  EpochInput in;
  in.params.yuma3 = m.yuma3;
  in.params.liquid_alpha = m.liquid_alpha;
  in.params.max_allowed_validators = static_cast<std::uint16_t>(s.validators);
  in.params.tempo = 360;
  in.emission = 1000000000000ull;
  in.stake.resize(n);
  in.last_update.assign(n, 100);
  in.registered_at.assign(n, 1);
  in.permits.assign(n, false);
  in.weights.assign(n, {});
  in.bonds.assign(n, {});
  for (std::size_t v = 0; v < s.validators; ++v) {
    in.stake[v] = Q64::from_u64(1000000000ull * (1 + rng() % 1000000));
    in.permits[v] = true;
    std::vector<std::uint16_t> raw(s.miners);
    for (auto& w : raw) w = static_cast<std::uint16_t>(rng() % 65536);
    const std::vector<std::uint16_t> stored = max_upscale_weights(raw);
    in.weights[v].reserve(s.miners);
    for (std::size_t j = 0; j < s.miners; ++j)
      in.weights[v].push_back({static_cast<std::uint32_t>(s.validators + j), stored[j]});
  }
  for (std::size_t j = s.validators; j < n; ++j) in.stake[j] = Q64::from_u64(0);
  return in;
}

void bench(const Shape& s, const Model& m) {
  EpochInput in = make_subnet(s, m, 20250101);
  in.block = 1000;
  double total = 0, best = 1e30, cpu_total = 0;
  std::size_t bond_entries = 0;
  for (int e = -1; e < s.epochs; ++e) {  // epoch −1 warms up and creates the bonds
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    auto out = run_epoch(in);
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!out) {
      std::fprintf(stderr, "bench_yuma: %s\n", out.error().to_string().c_str());
      std::exit(1);
    }
    in.bonds = out->bonds;
    in.permits = out->new_permits;
    in.block += in.params.tempo;
    if (e < 0) continue;
    total += sec;
    cpu_total += cpu;
    best = std::min(best, sec);
    bond_entries = 0;
    for (const auto& row : out->bonds) bond_entries += row.size();
  }
  nlohmann::ordered_json j;
  j["bench"] = "yuma_epoch";
  j["validators"] = s.validators;
  j["miners"] = s.miners;
  j["model"] = m.name;
  j["weights"] = "dense";
  j["epochs"] = s.epochs;
  j["seconds_per_epoch"] = total / s.epochs;
  j["min_seconds"] = best;
  // Process CPU time: steadier than wall time when the machine is shared.
  j["cpu_seconds_per_epoch"] = cpu_total / s.epochs;
  j["bond_entries"] = bond_entries;
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
}

}  // namespace

int main() {
  const Shape shapes[] = {{64, 1024, 20}, {256, 4096, 5}};
  const Model models[] = {{"yuma2", false, false}, {"yuma3", true, false}, {"yuma3_liquid_alpha", true, true}};
  for (const Shape& s : shapes)
    for (const Model& m : models) bench(s, m);
  return 0;
}
