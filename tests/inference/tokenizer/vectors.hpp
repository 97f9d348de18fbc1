// Reading llama.cpp's test-tokenizer-0 vector files (.inp inputs, .out ids).
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace ig::test {

inline const std::string kTokenizerDir = std::string(INFERGRID_SHARED_DATA) + "/tokenizers/";

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Inputs are separated by "\n__ggml_vocab_test__\n"; the text after the last one is empty.
inline std::vector<std::string> vector_inputs(const std::string& path) {
  const std::string text = slurp(path);
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t hit; (hit = text.find(sep, pos)) != std::string::npos; pos = hit + sep.size())
    out.push_back(text.substr(pos, hit - pos));
  return out;
}

// One line of space-separated ids (no BOS) per input.
inline std::vector<std::vector<int32_t>> vector_ids(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<int32_t>> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ss(line);
    std::vector<int32_t> ids;
    for (int32_t id; ss >> id;) ids.push_back(id);
    out.push_back(ids);
  }
  return out;
}

}  // namespace ig::test
