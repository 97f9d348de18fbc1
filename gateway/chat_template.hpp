// Chat prompts: turning a list of messages into the one prompt text a task carries, in the
// format the model was trained on. The gateway recognises the families we support from the
// GGUF file (docs/gateway.md, "Chat templates"):
//   - tokenizer.chat_template, by its markers: <|im_start|> (ChatML: Qwen2, many others),
//     <|start_header_id|> (Llama 3), [INST] (Llama 2);
//   - without a template: the architecture (qwen2 → ChatML) or the vocabulary's special
//     tokens (<|im_start|>, <|start_header_id|>);
//   - otherwise Plain, the documented fallback for completion models such as stories260K: the
//     messages' contents, each on its own line, no role markers (one message is sent as is).
// We do not run Jinja: the families are rendered by code that matches their reference
// templates, and any other template falls back to Plain (logged at start).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/openai.hpp"

namespace ig::gateway {

enum class TemplateFamily { Plain, Llama2, Llama3, ChatML };

std::string_view family_name(TemplateFamily f);

// `chat_template`: the GGUF's tokenizer.chat_template, when present; `architecture`:
// general.architecture; `vocab_has`: whether the vocabulary holds a token with that text.
template <typename VocabHas>
TemplateFamily detect_family(const std::optional<std::string>& chat_template, std::string_view architecture,
                             VocabHas&& vocab_has) {
  if (chat_template) {
    if (chat_template->find("<|im_start|>") != std::string::npos) return TemplateFamily::ChatML;
    if (chat_template->find("<|start_header_id|>") != std::string::npos) return TemplateFamily::Llama3;
    if (chat_template->find("[INST]") != std::string::npos) return TemplateFamily::Llama2;
  }
  if (architecture == "qwen2") return TemplateFamily::ChatML;
  if (vocab_has("<|im_start|>")) return TemplateFamily::ChatML;
  if (vocab_has("<|start_header_id|>")) return TemplateFamily::Llama3;
  return TemplateFamily::Plain;
}

// The prompt text for `messages` ending where the assistant's answer begins. The beginning-of-
// text token is NOT written: the chain's task prompt rule adds BOS itself when the vocabulary
// asks for it (inference/receipt/result.hpp), as llama.cpp does.
std::string render_chat(TemplateFamily family, const std::vector<ChatMessage>& messages);

}  // namespace ig::gateway
