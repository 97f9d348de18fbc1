// The pair-merging loop shared by both tokenizers (internal to ig_tokenizer).
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace ig::tok::detail {

// How eagerly two adjacent symbols merge: nullopt if they may not, otherwise
// higher merges first. Symbols are adjacent views into one text.
using MergePriority = std::function<std::optional<float>(std::string_view left, std::string_view right)>;

// Starts from the UTF-8 characters of `text` and repeatedly merges the adjacent
// pair of highest priority (the leftmost on ties) until none may merge, as
// llama.cpp's SPM and BPE sessions do. Returns the final symbols in order.
std::vector<std::string_view> merge_symbols(std::string_view text, const MergePriority& priority);

}  // namespace ig::tok::detail
