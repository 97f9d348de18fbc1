// A llama / qwen2 / qwen3 model: hyper-parameters and weight views over a GGUF file.
//
// Tensor names and shapes follow llama.cpp (llama_model::load_tensors in
// src/llama-model.cpp; ne0 = input features):
//   token_embd [dim, vocab], output_norm [dim], output [dim, vocab] (absent:
//   tied to token_embd), and per block blk.N.{attn_norm, attn_q, attn_k, attn_v,
//   attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}.
//   llama: optional attn_{q,k,v,output}.bias, optional rope_freqs [rope_dim/2] (Llama 3.x:
//          per-dimension RoPE frequency factors, ggml_rope_ext's freq_factors); adjacent pairs.
//   qwen2: attn_{q,k,v}.bias required; NeoX halves.
//   qwen3: attn_q_norm / attn_k_norm [head_dim] (RMSNorm of each head of Q and K before
//          RoPE), no biases; NeoX halves; head_dim may differ from dim / heads.
// A tensor the architecture does not use is an error, as in llama.cpp ("wrong number of
// tensors"), so a file meant for another graph never runs half-read.
#pragma once

#include <string>
#include <vector>

#include "common/expected.hpp"
#include "inference/gguf/gguf.hpp"
#include "kernels/kernels.hpp"

namespace ig::engine {

enum class Arch { Llama, Qwen2, Qwen3 };
const char* arch_name(Arch a);

struct ModelConfig {
  Arch arch = Arch::Llama;
  int dim = 0;
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int ffn_dim = 0;
  int vocab = 0;
  int context = 0;
  float rms_eps = 1e-5f;
  kernels::RopeParams rope;
  int32_t bos_id = -1;  // -1: none in the metadata
  int32_t eos_id = -1;
  // End-of-generation ids, as llama.cpp's llama_vocab::impl::load builds special_eog_ids:
  // tokenizer.ggml.{eos,eot,eom}_token_id, the FIM pad/repo/file-separator ids, and the
  // tokens whose text is one of <|eot_id|> <|im_end|> <|end|> <end_of_turn> <|endoftext|>
  // <|eom_id|> <EOT> (<|fim_pad|> <|repo_name|> <|file_sep|> ... for FIM). Sorted, unique.
  std::vector<int32_t> eog_ids;
  bool is_eog(int32_t id) const;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

struct LayerWeights {
  const float* attn_norm = nullptr;
  kernels::Weight wq, wk, wv, wo;
  const float* bq = nullptr;  // qwen2 (required), llama (optional)
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* bo = nullptr;  // llama (optional)
  const float* q_norm = nullptr;  // qwen3: [head_dim]
  const float* k_norm = nullptr;
  const float* ffn_norm = nullptr;
  kernels::Weight w_gate, w_up, w_down;
};

// How a model lays out its weights in memory. Every backend reads every layout with the same
// results; the choice only changes speed.
struct ModelOptions {
  // Regroup each Q4_0 and Q8_0 matrix's whole groups of 16 rows in place
  // (kernels::Layout::Interleaved16) when the fast CPU kernels of this machine read that layout
  // (AVX-512): decode then needs no horizontal sums. No memory is added, and the model id stays
  // the file's hash.
  bool interleave = kernels::cpu_reads_interleaved16();
};

class Model {
 public:
  // Checks architecture, hyper-parameters and every tensor's type and shape, then lays the
  // weights out as `opt` asks (rewriting `file`'s tensor bytes, shared with its copies).
  static Expected<Model> from_gguf(gguf::File file, const ModelOptions& opt = {});
  static Expected<Model> open(const std::string& path, const ModelOptions& opt = {});

  const ModelConfig& config() const { return cfg_; }
  const gguf::File& file() const { return file_; }
  const kernels::Weight& token_embd() const { return token_embd_; }
  const kernels::Weight& output() const { return output_; }
  const float* output_norm() const { return output_norm_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }

 private:
  gguf::File file_;
  ModelConfig cfg_;
  kernels::Weight token_embd_, output_;
  const float* output_norm_ = nullptr;
  std::vector<LayerWeights> layers_;
};

}  // namespace ig::engine
