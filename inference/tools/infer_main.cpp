// infergrid-infer: run an inference task and write its result file, or verify one.
//
//   infergrid-infer generate --model M --prompt TEXT --max-tokens N
//       [--temperature 0.8 --top-k K --top-p 0.95 --seed S] [--threads N]
//       [--backend reference|cpu|cuda] [--json] [--receipt OUT.json]
//   infergrid-infer generate --model M --prompt-ids 1,403,407 ...   (plain generation, no receipt)
//   infergrid-infer verify --model M --receipt R.json [--mode auto|exact|tolerant]
//       [--backend ..] [--threads N] [--json] [--output VERDICT.json]
//   infergrid-infer perplexity --model M --text-file F [--ctx 512] [--chunks N] [--json]
//       (as llama.cpp's llama-perplexity: inference/engine/perplexity.hpp)
//
// Temperature and top-p are read as decimals with at most three places and kept as the
// thousandths the chain and the receipt use (common/sampling.hpp); they never pass through a
// float here.
//
// Exit status: 0 success / accepted, 1 rejected, 2 error.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "inference/engine/engine.hpp"
#include "inference/receipt/fingerprint.hpp"
#include "inference/receipt/ids.hpp"
#include "inference/receipt/result.hpp"
#include "inference/receipt/verifier.hpp"
#include "inference/tokenizer/tokenizer.hpp"

namespace {

using namespace ig;
using nlohmann::json;

struct CommonOpts {
  std::string model, backend = "cpu";
  int threads = 0;
  bool json = false;
};

struct GenerateOpts {
  std::string prompt, prompt_ids, receipt_out;
  bool has_prompt = false;
  uint32_t max_tokens = 64;
  std::string temperature = "0", top_p = "1";
  uint32_t top_k = 0;
  uint64_t seed = 0;
};

struct VerifyOpts {
  std::string receipt, mode = "auto", output;
};

struct PerplexityOpts {
  std::string text_file;
  int ctx = 512;
  int chunks = -1;
};

int fail_with(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
  return 2;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

Expected<std::unique_ptr<kernels::Backend>> open_backend(const CommonOpts& o) {
  IG_TRY_ASSIGN(kind, kernels::parse_backend_kind(o.backend));
  return kernels::make_backend({kind, o.threads});
}

// "0.8" -> 800: digits, optionally a point and one to three more digits. Exact decimal
// arithmetic on the characters; `max_milli` bounds the value (and any overflow).
Expected<uint32_t> parse_milli(const std::string& s, const std::string& flag, uint32_t max_milli) {
  auto bad = [&](const std::string& why) {
    return fail("infer.bad_number", flag + " '" + s + "': " + why);
  };
  const size_t dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  const std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  auto digits = [](const std::string& d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if ((whole.empty() && frac.empty()) || !digits(whole) || !digits(frac) ||
      (dot != std::string::npos && frac.empty()))
    return bad("expected a decimal number such as 0.8");
  if (frac.size() > 3)
    return bad("at most 3 decimals: the chain keeps this parameter in thousandths (e.g. 0.875)");
  uint64_t milli = 0;
  for (char c : whole) {
    milli = milli * 10 + uint64_t(c - '0');
    if (milli > max_milli) return bad("too large");
  }
  milli *= 1000;
  uint64_t scale = 100;
  for (char c : frac) {
    milli += uint64_t(c - '0') * scale;
    scale /= 10;
  }
  if (milli > max_milli) return bad("too large");
  return uint32_t(milli);
}

Expected<std::vector<int32_t>> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty() || item.size() > 10 ||
        !std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail("infer.bad_ids", "--prompt-ids must be comma-separated token ids, got '" + item + "'");
    const long long v = std::stoll(item);  // <= 10 digits: no overflow, no exception
    if (v > INT32_MAX) return fail("infer.bad_ids", "token id " + item + " is too large");
    ids.push_back(int32_t(v));
  }
  if (ids.empty()) return fail("infer.bad_ids", "--prompt-ids is empty");
  return ids;
}

// Streams text as tokens arrive (whole UTF-8 characters only).
struct Streamer {
  const tok::Tokenizer* tk = nullptr;
  tok::Utf8Stream utf8;
  bool operator()(int32_t t) {
    if (!tk) return true;
    auto piece = tk->token_to_piece(t);
    if (piece) {
      const std::string out = utf8.push(*piece);
      std::fwrite(out.data(), 1, out.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  }
};

double per_second(double n, double seconds) { return seconds > 0 ? n / seconds : 0; }

int run_generate(const CommonOpts& c, const GenerateOpts& g) {
  ig::SamplingParams p;
  p.max_tokens = g.max_tokens;
  auto temp = parse_milli(g.temperature, "--temperature", ig::kMaxTemperatureMilli);
  if (!temp) return fail_with(temp.error());
  auto top_p = parse_milli(g.top_p, "--top-p", 1000);
  if (!top_p) return fail_with(top_p.error());
  p.temperature_milli = *temp;
  p.top_k = g.top_k;
  p.top_p_milli = *top_p;
  p.seed = g.seed;
  if (auto why = ig::sampling_params_problem(p)) return fail_with(make_error("infer.bad_params", *why));
  if (!g.has_prompt && !g.receipt_out.empty())
    return fail_with(make_error("infer.receipt_needs_prompt",
                                "a receipt commits to the prompt TEXT (its SHA-256, as the chain hashes it): "
                                "give --prompt TEXT instead of --prompt-ids"));

  auto model = engine::Model::open(c.model);
  if (!model) return fail_with(model.error());
  auto tk = tok::Tokenizer::from_gguf(model->file());
  auto backend = open_backend(c);
  if (!backend) return fail_with(backend.error());
  Streamer stream;
  if (!c.json && tk) stream.tk = &*tk;
  auto on_token = [&](int32_t t) { return stream(t); };

  receipt::TaskResult r;
  size_t prompt_tokens = 0;
  if (g.has_prompt) {
    auto res = receipt::run_task(*model, receipt::model_id(model->file()), **backend, g.prompt, p, on_token);
    if (!res) return fail_with(res.error());
    r = std::move(*res);
    prompt_tokens = r.prompt_ids.size();
  } else {
    // Plain generation from ids: the same engine and stop rule, no receipt.
    auto ids = parse_ids(g.prompt_ids);
    if (!ids) return fail_with(ids.error());
    // Stops at any end-of-generation id the vocab declares (EOS, EOT, EOM), as llama.cpp does.
    auto gen = engine::generate(*model, **backend, *ids, p, model->config().eog_ids, on_token);
    if (!gen) return fail_with(gen.error());
    r.params = p;
    r.prompt_ids.assign(ids->begin(), ids->end());
    r.output.assign(gen->tokens.begin(), gen->tokens.end());
    for (const auto& s : gen->steps) r.fingerprints.push_back(receipt::fingerprint(s));
    if (tk) r.text = receipt::output_text(*model, r.output).value_or(std::string());
    r.prefill_seconds = gen->prefill_seconds;
    r.decode_seconds = gen->decode_seconds;
    prompt_tokens = ids->size();
  }
  if (!c.json) {
    const std::string rest = stream.utf8.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
  }
  if (!g.receipt_out.empty()) {
    auto st = receipt::write_task_result(g.receipt_out, r);
    if (!st) return fail_with(st.error());
  }
  const double prefill_tps = per_second(double(prompt_tokens), r.prefill_seconds);
  // the first generated token comes from the prefill; decode covers the rest
  const double decode_tps = per_second(double(r.output.size()) - 1, r.decode_seconds);
  const std::string tag = receipt::backend_tag(**backend);
  if (c.json) {
    json j = {{"backend", (*backend)->description()},
              {"numerics", tag},
              {"prompt_tokens", prompt_tokens},
              {"output_ids", r.output},
              {"text", r.text},
              {"stopped_on_eos", !r.output.empty() && model->config().is_eog(int32_t(r.output.back()))},
              {"stopped_on_eog", !r.output.empty() && r.output.size() < p.max_tokens &&
                                     model->config().is_eog(int32_t(r.output.back()))},
              {"prefill_tokens_per_s", prefill_tps},
              {"decode_tokens_per_s", decode_tps}};
    if (g.has_prompt) {
      j["receipt_id"] = receipt::to_hex(ig::receipt_id(r.receipt));
      j["receipt"] = receipt::to_hex(ig::encode_receipt(r.receipt));
    }
    std::printf("%s\n", dump(j).c_str());
  } else {
    std::printf("\n");
    std::fflush(stdout);  // the text before the stats when both go to one file (2>&1)
    std::fprintf(stderr, "[%zu tokens; prefill %zu tokens at %.1f tok/s; decode %.1f tok/s; %s, numerics %s]\n",
                 r.output.size(), prompt_tokens, prefill_tps, decode_tps, (*backend)->description().c_str(),
                 tag.c_str());
  }
  return 0;
}

json fingerprint_json(const ig::Fingerprint& f) { return json::array({f.token, f.logit_q, f.runner_up_q}); }

int run_verify(const CommonOpts& c, const VerifyOpts& v) {
  if (v.mode != "auto" && v.mode != "exact" && v.mode != "tolerant")
    return fail_with(make_error("infer.bad_mode", "--mode must be auto, exact or tolerant"));
  auto result = receipt::read_task_result(v.receipt);
  if (!result) return fail_with(result.error());
  auto model = engine::Model::open(c.model);
  if (!model) return fail_with(model.error());
  auto backend = open_backend(c);
  if (!backend) return fail_with(backend.error());
  const receipt::Mode mode = v.mode == "exact"      ? receipt::Mode::Exact
                             : v.mode == "tolerant" ? receipt::Mode::Tolerant
                                                    : receipt::mode_for(result->receipt, **backend);
  const auto t0 = std::chrono::steady_clock::now();
  auto verdict = receipt::verify(*model, receipt::model_id(model->file()), **backend, *result, mode);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!verdict) return fail_with(verdict.error());
  const auto& r = *verdict;
  // Prefill positions evaluated: the prompt and all output tokens but the last.
  const double positions = r.steps_checked > 0 ? double(result->prompt_ids.size() + r.steps_checked - 1) : 0;
  json j = {{"accepted", r.accepted},
            {"mode", receipt::mode_name(r.mode)},
            {"code", r.code},
            {"reason", r.reason},
            {"first_bad_step", r.first_bad_step},
            {"steps_checked", r.steps_checked},
            {"exact_matches", r.exact_matches},
            {"noise_class", receipt::noise_class_name(r.noise)},
            {"drift", r.drift},
            {"drift_limit", r.drift_limit},
            {"receipt_id", receipt::to_hex(ig::receipt_id(result->receipt))},
            {"receipt_backend", result->receipt.backend},
            {"verifier_backend", receipt::backend_tag(**backend)},
            {"verify_seconds", seconds},
            {"tokens_per_s", per_second(positions, seconds)}};
  if (r.has_proof) {
    json siblings = json::array();
    for (const auto& d : r.proof.siblings) siblings.push_back(receipt::to_hex(d));
    json ev = {{"step", r.first_bad_step},
               {"claimed", fingerprint_json(r.claimed)},
               {"proof", {{"index", r.proof.index}, {"leaf_count", r.proof.leaf_count}, {"siblings", siblings}}},
               {"proof_valid", receipt::check_evidence(result->receipt, r)}};
    if (r.has_recomputed) {
      ev["recomputed"] = fingerprint_json(r.recomputed);
      ev["expected"] = fingerprint_json(r.expected);
    }
    j["evidence"] = ev;
  }
  if (!v.output.empty()) {
    std::ofstream out(v.output);
    out << j.dump(1) << "\n";
    if (!out) return fail_with(make_error("infer.io", "cannot write " + v.output));
  }
  if (c.json) {
    std::printf("%s\n", dump(j).c_str());
  } else if (r.accepted) {
    std::printf("accepted (%s): %d steps, %d exact matches\n", receipt::mode_name(r.mode), r.steps_checked,
                r.exact_matches);
  } else {
    std::printf("rejected (%s): %s (%s), first bad step %lld\n", receipt::mode_name(r.mode), r.code.c_str(),
                r.reason.c_str(), static_cast<long long>(r.first_bad_step));
  }
  std::fflush(stdout);  // the verdict before the stats when both go to one file
  if (!c.json)
    std::fprintf(stderr, "[verified in %.3f s, %.1f tok/s; %s, numerics %s, receipt %s]\n", seconds,
                 per_second(positions, seconds), (*backend)->description().c_str(),
                 receipt::backend_tag(**backend).c_str(), result->receipt.backend.c_str());
  return r.accepted ? 0 : 1;
}

int run_perplexity(const CommonOpts& c, const PerplexityOpts& o) {
  std::ifstream in(o.text_file, std::ios::binary);
  if (!in) return fail_with(make_error("infer.io", "cannot read " + o.text_file));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto model = engine::Model::open(c.model);
  if (!model) return fail_with(model.error());
  auto tk = tok::Tokenizer::from_gguf(model->file());
  if (!tk) return fail_with(tk.error());
  // common_tokenize(ctx, text, add_special = true): the vocab's BOS/EOS defaults, no
  // special-token parsing. llama.cpp's perplexity asserts the vocab adds no EOS.
  if (tk->vocab().add_eos)
    return fail_with(make_error("infer.add_eos", "the vocab adds EOS; llama.cpp's perplexity refuses such vocabs"));
  auto ids = tk->encode_default(text);
  if (!ids) return fail_with(ids.error());
  auto backend = open_backend(c);
  if (!backend) return fail_with(backend.error());
  engine::PerplexityOptions po;
  po.ctx = o.ctx;
  po.max_chunks = o.chunks;
  po.add_bos = tk->vocab().add_bos;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = engine::perplexity(*model, **backend, *ids, po);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r) return fail_with(r.error());
  if (c.json) {
    json j = {{"nll", r->nll},
              {"perplexity", r->perplexity},
              {"ctx", r->ctx},
              {"chunks", r->chunks},
              {"tokens", r->n_tokens},
              {"scored", r->scored},
              {"add_bos", po.add_bos},
              {"running", r->running},
              {"backend", (*backend)->description()},
              {"numerics", receipt::backend_tag(**backend)},
              {"seconds", seconds}};
    std::printf("%s\n", dump(j).c_str());
  } else {
    for (size_t i = 0; i < r->running.size(); ++i) std::printf("[%zu]%.4f,", i + 1, r->running[i]);
    std::printf("\nFinal estimate: PPL = %.4f (nll %.6f over %lld predictions; %d chunks of %d tokens)\n",
                r->perplexity, r->nll, static_cast<long long>(r->scored), r->chunks, r->ctx);
  }
  return 0;
}

void add_common(CLI::App* app, CommonOpts& c) {
  app->add_option("--model", c.model, "GGUF model file")->required()->check(CLI::ExistingFile);
  app->add_option("--backend", c.backend, "reference, cpu or cuda")->capture_default_str();
  app->add_option("--threads", c.threads, "CPU threads (0: all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  app->add_flag("--json", c.json, "machine-readable output");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"infergrid-infer: batch-invariant LLM inference with receipts"};
  app.require_subcommand(1);
  CommonOpts common;
  GenerateOpts g;
  VerifyOpts v;

  auto* gen = app.add_subcommand("generate", "run a task: generate text and its result file");
  add_common(gen, common);
  auto* prompt = gen->add_option("--prompt", g.prompt, "prompt text (tokenized by the task prompt rule)");
  gen->add_option("--prompt-ids", g.prompt_ids, "prompt as comma-separated token ids (no receipt)")
      ->excludes(prompt);
  gen->add_option("--max-tokens", g.max_tokens, "tokens to generate")->check(CLI::Range(1u, 1u << 20));
  gen->add_option("--temperature", g.temperature, "0: greedy; at most 3 decimals (0..100)");
  gen->add_option("--top-k", g.top_k, "0: no limit");
  gen->add_option("--top-p", g.top_p, "nucleus mass in (0, 1], at most 3 decimals");
  gen->add_option("--seed", g.seed, "sampling seed (draws keyed by seed and step)");
  gen->add_option("--receipt", g.receipt_out, "write the task result file (JSON, with the receipt) here");

  auto* ver = app.add_subcommand("verify", "verify a task result file");
  add_common(ver, common);
  ver->add_option("--receipt", v.receipt, "task result file (JSON)")->required()->check(CLI::ExistingFile);
  ver->add_option("--mode", v.mode, "auto (exact when the receipt's numerics tag is ours), exact or tolerant")
      ->capture_default_str();
  ver->add_option("--output", v.output, "also write the verdict JSON here");

  PerplexityOpts po;
  auto* ppl = app.add_subcommand("perplexity", "perplexity of a text, as llama.cpp's llama-perplexity");
  add_common(ppl, common);
  ppl->add_option("--text-file", po.text_file, "the text (UTF-8)")->required()->check(CLI::ExistingFile);
  ppl->add_option("--ctx", po.ctx, "tokens per chunk (llama.cpp's --ctx-size)")->capture_default_str()
      ->check(CLI::Range(4, 1 << 20));
  ppl->add_option("--chunks", po.chunks, "at most this many chunks (-1: all)")->capture_default_str();

  CLI11_PARSE(app, argc, argv);
  if (ppl->parsed()) return run_perplexity(common, po);
  if (gen->parsed()) {
    g.has_prompt = gen->count("--prompt") > 0;
    if (!g.has_prompt && g.prompt_ids.empty())
      return fail_with(make_error("infer.no_prompt", "give --prompt TEXT (or --prompt-ids for plain generation)"));
    return run_generate(common, g);
  }
  return run_verify(common, v);
}
