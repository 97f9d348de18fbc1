// infergrid-infer: generate text with a receipt, or verify a receipt file.
//
//   infergrid-infer generate --model M --prompt P --max-tokens N
//       [--temperature T --top-k K --top-p P --seed S] [--threads N]
//       [--backend reference|cpu|cuda] [--json] [--receipt OUT]
//   infergrid-infer verify --model M --receipt R [--mode exact|tolerant]
//       [--backend ..] [--threads N] [--json] [--output VERDICT.json]
//
// Exit status: 0 success / accepted, 1 rejected, 2 error.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "inference/engine/engine.hpp"
#include "inference/receipt/bundle.hpp"
#include "inference/receipt/verifier.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {

using namespace ig;

struct CommonOpts {
  std::string model, backend = "cpu";
  int threads = 0;
  bool json = false;
};

struct GenerateOpts {
  std::string prompt, prompt_ids, receipt_out;
  uint32_t max_tokens = 64;
  float temperature = 0.f, top_p = 1.f;
  uint32_t top_k = 0;
  uint64_t seed = 0;
  bool no_bos = false;
};

struct VerifyOpts {
  std::string receipt, mode = "exact", output;
};

int fail_with(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
  return 2;
}

Expected<std::unique_ptr<kernels::Backend>> open_backend(const CommonOpts& o) {
  IG_TRY_ASSIGN(kind, kernels::parse_backend_kind(o.backend));
  return kernels::make_backend({kind, o.threads});
}

Expected<std::vector<int32_t>> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    try {
      size_t used = 0;
      long v = std::stol(item, &used);
      if (used != item.size() || v < 0 || v > INT32_MAX) throw std::invalid_argument(item);
      ids.push_back(int32_t(v));
    } catch (const std::exception&) {
      return fail("infer.bad_ids", "--prompt-ids must be comma-separated token ids, got '" + item + "'");
    }
  }
  if (ids.empty()) return fail("infer.bad_ids", "--prompt-ids is empty");
  return ids;
}

Expected<std::vector<int32_t>> prompt_tokens(const GenerateOpts& g, const tok::Tokenizer* tk) {
  if (!g.prompt_ids.empty()) return parse_ids(g.prompt_ids);
  if (!tk) return fail("infer.no_tokenizer", "the model has no tokenizer; use --prompt-ids");
  const auto& v = tk->vocab();
  const bool bos = !g.no_bos && v.bos != tok::kNoToken && (v.add_bos || v.model == "llama");
  return tk->encode(g.prompt, bos);
}

int run_generate(const CommonOpts& c, const GenerateOpts& g) {
  auto model = engine::Model::open(c.model);
  if (!model) return fail_with(model.error());
  auto tk = tok::Tokenizer::from_gguf(model->file());
  const tok::Tokenizer* tkp = tk ? &*tk : nullptr;
  auto prompt = prompt_tokens(g, tkp);
  if (!prompt) return fail_with(prompt.error());
  auto backend = open_backend(c);
  if (!backend) return fail_with(backend.error());

  engine::SamplingParams p;
  p.max_tokens = g.max_tokens;
  p.temperature = g.temperature;
  p.top_k = g.top_k;
  p.top_p = g.top_p;
  p.seed = g.seed;

  std::vector<int32_t> so_far;
  std::string printed;
  auto stream = [&](int32_t t) {
    if (c.json || !tkp) return true;
    so_far.push_back(t);
    auto text = tkp->decode(so_far);
    if (text && text->size() >= printed.size() && text->compare(0, printed.size(), printed) == 0) {
      std::fwrite(text->data() + printed.size(), 1, text->size() - printed.size(), stdout);
      std::fflush(stdout);
      printed = *text;
    }
    return true;
  };
  auto gen = engine::generate(*model, **backend, *prompt, p, model->config().eos_id, stream);
  if (!gen) return fail_with(gen.error());

  const receipt::Bundle b =
      receipt::seal(receipt::model_id(model->file()), *prompt, p, *gen, g.prompt);
  if (!g.receipt_out.empty()) {
    auto st = receipt::write_bundle(g.receipt_out, b);
    if (!st) return fail_with(st.error());
  }
  const double prefill_tps = gen->prefill_seconds > 0 ? gen->prompt_tokens / gen->prefill_seconds : 0;
  // the first generated token comes from the prefill; decode covers the rest
  const double decode_tps =
      gen->decode_seconds > 0 ? double(gen->tokens.size() - 1) / gen->decode_seconds : 0;
  if (c.json) {
    std::string text;
    if (tkp) { auto d = tkp->decode(gen->tokens); if (d) text = *d; }
    nlohmann::json j = {{"backend", (*backend)->description()},
                        {"prompt_tokens", gen->prompt_tokens},
                        {"output_ids", gen->tokens},
                        {"text", text},
                        {"stopped_on_eos", gen->stopped_on_eos},
                        {"prefill_tokens_per_s", prefill_tps},
                        {"decode_tokens_per_s", decode_tps},
                        {"receipt_id", receipt::to_hex(receipt::receipt_id(b.receipt))},
                        {"receipt", receipt::to_hex(receipt::encode(b.receipt))}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr, "[%zu tokens; prefill %d tokens at %.1f tok/s; decode %.1f tok/s; %s]\n",
                 gen->tokens.size(), gen->prompt_tokens, prefill_tps, decode_tps,
                 (*backend)->description().c_str());
  }
  return 0;
}

int run_verify(const CommonOpts& c, const VerifyOpts& v) {
  receipt::Mode mode;
  if (v.mode == "exact") mode = receipt::Mode::Exact;
  else if (v.mode == "tolerant") mode = receipt::Mode::Tolerant;
  else return fail_with(make_error("infer.bad_mode", "--mode must be exact or tolerant"));
  auto bundle = receipt::read_bundle(v.receipt);
  if (!bundle) return fail_with(bundle.error());
  auto model = engine::Model::open(c.model);
  if (!model) return fail_with(model.error());
  auto backend = open_backend(c);
  if (!backend) return fail_with(backend.error());
  auto verdict = receipt::verify(*model, receipt::model_id(model->file()), **backend, *bundle, mode);
  if (!verdict) return fail_with(verdict.error());
  const auto& r = *verdict;
  nlohmann::json j = {{"accepted", r.accepted},
                      {"code", r.code},
                      {"reason", r.reason},
                      {"first_bad_step", r.first_bad_step},
                      {"steps_checked", r.steps_checked},
                      {"exact_matches", r.exact_matches},
                      {"receipt_id", receipt::to_hex(receipt::receipt_id(bundle->receipt))}};
  if (r.first_bad_step >= 0) {
    nlohmann::json path = nlohmann::json::array();
    for (const auto& d : r.proof.siblings) path.push_back(receipt::to_hex(d));
    j["evidence"] = {
        {"claimed", {r.claimed.token, r.claimed.logit_q, r.claimed.runner_up_q}},
        {"recomputed", {r.recomputed.token, r.recomputed.logit_q, r.recomputed.runner_up_q}},
        {"expected_token", r.expected_token},
        {"proof", {{"index", r.proof.index}, {"n_leaves", r.proof.leaf_count}, {"path", path}}},
        {"proof_valid", receipt::check_evidence(bundle->receipt, r)}};
  }
  if (!v.output.empty()) {
    std::ofstream out(v.output);
    out << j.dump(1) << "\n";
    if (!out) return fail_with(make_error("infer.io", "cannot write " + v.output));
  }
  if (c.json) {
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (r.accepted) {
    std::printf("accepted: %d steps, %d exact matches\n", r.steps_checked, r.exact_matches);
  } else {
    std::printf("rejected: %s (%s), first bad step %lld\n", r.code.c_str(), r.reason.c_str(),
                static_cast<long long>(r.first_bad_step));
  }
  return r.accepted ? 0 : 1;
}

void add_common(CLI::App* app, CommonOpts& c) {
  app->add_option("--model", c.model, "GGUF model file")->required()->check(CLI::ExistingFile);
  app->add_option("--backend", c.backend, "reference, cpu or cuda")->capture_default_str();
  app->add_option("--threads", c.threads, "CPU threads (0: all cores)")->check(CLI::Range(0, 1024));
  app->add_flag("--json", c.json, "machine-readable output");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"infergrid-infer: batch-invariant LLM inference with receipts"};
  app.require_subcommand(1);
  CommonOpts common;
  GenerateOpts g;
  VerifyOpts v;

  auto* gen = app.add_subcommand("generate", "generate text and a receipt");
  add_common(gen, common);
  auto* prompt = gen->add_option("--prompt", g.prompt, "prompt text");
  gen->add_option("--prompt-ids", g.prompt_ids, "prompt as comma-separated token ids")->excludes(prompt);
  gen->add_option("--max-tokens", g.max_tokens, "tokens to generate")->check(CLI::Range(1u, 1u << 20));
  gen->add_option("--temperature", g.temperature, "0: greedy")->check(CLI::Range(0.0f, 100.0f));
  gen->add_option("--top-k", g.top_k, "0: no limit");
  gen->add_option("--top-p", g.top_p, "nucleus mass in (0, 1]")->check(CLI::Range(0.0f, 1.0f));
  gen->add_option("--seed", g.seed, "sampling seed (draws keyed by seed and step)");
  gen->add_flag("--no-bos", g.no_bos, "do not prepend BOS");
  gen->add_option("--receipt", g.receipt_out, "write the receipt file (JSON) here");

  auto* ver = app.add_subcommand("verify", "verify a receipt file");
  add_common(ver, common);
  ver->add_option("--receipt", v.receipt, "receipt file (JSON)")->required()->check(CLI::ExistingFile);
  ver->add_option("--mode", v.mode, "exact or tolerant")->capture_default_str();
  ver->add_option("--output", v.output, "also write the verdict JSON here");

  CLI11_PARSE(app, argc, argv);
  if (gen->parsed()) {
    if (g.prompt.empty() && g.prompt_ids.empty() && !gen->count("--prompt"))
      return fail_with(make_error("infer.no_prompt", "give --prompt or --prompt-ids"));
    return run_generate(common, g);
  }
  return run_verify(common, v);
}
