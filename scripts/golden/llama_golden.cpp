// Reference outputs from llama.cpp for tests/inference/golden (built and run by
// scripts/golden/regen_golden.sh against a llama.cpp build; not part of our build).
//
//   llama_golden MODEL TEXT_FILE N_GEN PROMPT...     (PROMPT: comma-separated token ids)
//
// Prints one JSON object: "text_ids" (the text tokenized as llama-perplexity does:
// common_tokenize with add_special = true, no special parsing) and, per prompt, llama.cpp's
// greedy continuation ("tokens": argmax of the logits, lowest id on ties, stopping after an
// end-of-generation token as llama_vocab_is_eog says) with each step's top-1 minus top-2
// logit ("margins"). One sequence, one thread, a fresh KV cache per prompt.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"

static void quiet(ggml_log_level, const char*, void*) {}

static std::vector<llama_token> parse_ids(const std::string& s) {
  std::vector<llama_token> ids;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) ids.push_back(llama_token(std::stol(item)));
  return ids;
}

static void print_ids(const std::vector<llama_token>& ids) {
  std::printf("[");
  for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? "," : "", ids[i]);
  std::printf("]");
}

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: llama_golden MODEL TEXT_FILE N_GEN PROMPT...\n");
    return 2;
  }
  llama_log_set(quiet, nullptr);
  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) {
    std::fprintf(stderr, "cannot load %s\n", argv[1]);
    return 1;
  }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_vocab = llama_vocab_n_tokens(vocab);
  const int n_gen = std::atoi(argv[3]);

  std::ifstream in(argv[2], std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<llama_token> text_ids(text.size() + 8);
  const int n = llama_tokenize(vocab, text.data(), int32_t(text.size()), text_ids.data(),
                               int32_t(text_ids.size()), /*add_special=*/true, /*parse_special=*/false);
  if (n < 0) return 1;
  text_ids.resize(size_t(n));

  std::printf("{\"text_ids\":");
  print_ids(text_ids);
  std::printf(",\"greedy\":[");
  for (int p = 4; p < argc; ++p) {
    std::vector<llama_token> prompt = parse_ids(argv[p]);
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = uint32_t(prompt.size() + n_gen + 8);
    cp.n_batch = cp.n_ctx;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    llama_context* ctx = llama_init_from_model(model, cp);
    if (!ctx) return 1;
    std::vector<llama_token> out;
    std::vector<float> margins;
    std::vector<llama_token> next = prompt;
    for (int step = 0; step < n_gen; ++step) {
      if (llama_decode(ctx, llama_batch_get_one(next.data(), int32_t(next.size()))) != 0) return 1;
      const float* logits = llama_get_logits_ith(ctx, -1);
      int best = 0;
      for (int i = 1; i < n_vocab; ++i)
        if (logits[i] > logits[best]) best = i;
      float second = -1e30f;
      for (int i = 0; i < n_vocab; ++i)
        if (i != best && logits[i] > second) second = logits[i];
      out.push_back(best);
      margins.push_back(logits[best] - second);
      if (llama_vocab_is_eog(vocab, best)) break;
      next.assign(1, best);
    }
    std::printf("%s{\"prompt\":", p > 4 ? "," : "");
    print_ids(prompt);
    std::printf(",\"tokens\":");
    print_ids(out);
    std::printf(",\"margins\":[");
    for (size_t i = 0; i < margins.size(); ++i) std::printf("%s%.6f", i ? "," : "", double(margins[i]));
    std::printf("]}");
    llama_free(ctx);
  }
  std::printf("]}\n");
  llama_model_free(model);
  return 0;
}
