#include "gateway/chat_template.hpp"

namespace ig::gateway {

std::string_view family_name(TemplateFamily f) {
  switch (f) {
    case TemplateFamily::Plain: return "plain";
    case TemplateFamily::Llama2: return "llama2";
    case TemplateFamily::Llama3: return "llama3";
    case TemplateFamily::ChatML: return "chatml";
  }
  return "plain";
}

namespace {

// Qwen2's and the common ChatML template: every turn framed by <|im_start|>role\n … <|im_end|>\n.
std::string chatml(const std::vector<ChatMessage>& ms) {
  std::string out;
  for (const auto& m : ms) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  return out + "<|im_start|>assistant\n";
}

// Meta's Llama 3 template without the leading <|begin_of_text|> (the BOS the task rule adds).
std::string llama3(const std::vector<ChatMessage>& ms) {
  std::string out;
  for (const auto& m : ms) out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
  return out + "<|start_header_id|>assistant<|end_header_id|>\n\n";
}

// Meta's Llama 2 chat format: the system prompt inside the first [INST] as <<SYS>> … <</SYS>>,
// each user turn in [INST] … [/INST], answers after it. Between turns the reference template
// writes </s><s>; the task prompt is one BOS-prefixed text, so earlier answers are followed by
// a space instead (docs/gateway.md).
std::string llama2(const std::vector<ChatMessage>& ms) {
  std::string system, out;
  bool first_user = true;
  for (const auto& m : ms) {
    if (m.role == "system") {
      system += (system.empty() ? "" : "\n") + m.content;
    } else if (m.role == "user") {
      std::string content = m.content;
      if (first_user && !system.empty()) content = "<<SYS>>\n" + system + "\n<</SYS>>\n\n" + content;
      if (!first_user) out += " ";
      out += "[INST] " + content + " [/INST]";
      first_user = false;
    } else {  // assistant
      out += " " + m.content;
    }
  }
  if (first_user && !system.empty()) out += "[INST] <<SYS>>\n" + system + "\n<</SYS>>\n\n [/INST]";
  return out;
}

// Completion models have no chat format: the conversation is the text to continue.
std::string plain(const std::vector<ChatMessage>& ms) {
  std::string out;
  for (size_t i = 0; i < ms.size(); ++i) out += (i ? "\n" : "") + ms[i].content;
  return out;
}

}  // namespace

std::string render_chat(TemplateFamily family, const std::vector<ChatMessage>& messages) {
  switch (family) {
    case TemplateFamily::ChatML: return chatml(messages);
    case TemplateFamily::Llama3: return llama3(messages);
    case TemplateFamily::Llama2: return llama2(messages);
    case TemplateFamily::Plain: return plain(messages);
  }
  return plain(messages);
}

}  // namespace ig::gateway
