#!/usr/bin/env bash
# Regenerates tests/inference/golden/*.json (llama.cpp's perplexities with its default F16 and
# an F32 KV cache, text token ids and greedy continuations, on our random-weight models and on
# ../shared/data/models/stories260K.gguf) from a llama.cpp build.
#
#   scripts/golden/regen_golden.sh LLAMA_CPP_DIR [QWEN3_LLAMA_CPP_DIR]
#
# LLAMA_CPP_DIR is a llama.cpp source tree built with CMake into LLAMA_CPP_DIR/build
# (build/bin must hold llama-perplexity and libllama.so; the goldens in the repository come
# from commit c392e50). That commit predates qwen3: the qwen3 goldens come from a second tree,
# the same commit with scripts/golden/llama.cpp-c392e50-qwen3.patch applied (upstream's
# qwen3 graph, backported), or from any newer llama.cpp. Without it the qwen3 files are left
# as they are. Needs build/bin/infergrid-gguf (scripts/build --target infergrid-gguf), g++,
# python3.
#
# To build the qwen3 tree from the first one:
#   cp -r LLAMA_CPP_DIR Q3 && rm -rf Q3/build && (cd Q3 && patch -p1 < .../llama.cpp-c392e50-qwen3.patch)
#   cmake -S Q3 -B Q3/build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF
#   cmake --build Q3/build -j --target llama-perplexity
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[ $# -ge 1 ] || { sed -n '2,20p' "$0"; exit 2; }
exec python3 "$here/regen_golden.py" "$@"
