#!/usr/bin/env python3
"""Regenerate tests/inference/golden/*.json from llama.cpp (see regen_golden.sh).

For each case: our `infergrid-gguf make` writes the random-weight model (the spec below is
stored in the JSON, and the test rebuilds the same bytes from it), llama.cpp's
llama-perplexity measures the fixed text, and llama_golden (scripts/golden/llama_golden.cpp,
linked against that llama.cpp) gives the text's token ids and greedy continuations with
their top-1 margins.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "tests", "inference", "golden")
TEXT = os.path.join(GOLDEN, "text.txt")
CTX = 128
N_GEN = 16
N_PROMPTS = 6

BASE = dict(dim=64, layers=2, heads=4, kv_heads=2, head_dim=0, ffn=128, vocab=512, ctx=256,
            seed=13, rope_scaling="", rope_factor=8.0, rope_orig_ctx=8192)
CASES = [
    # Llama 3.1 RoPE scaling with an original context of 32 so that the factors matter
    # within the 128-token chunks (the real 8192 would leave these positions untouched).
    ("llama3", dict(BASE, arch="llama", rope_scaling="llama3", rope_orig_ctx=32)),
    ("qwen2", dict(BASE, arch="qwen2")),
    # Qwen3's head dimension differs from dim / heads, as in Qwen3-0.6B.
    ("qwen3", dict(BASE, arch="qwen3", head_dim=32)),
    # Llama 3.1's own scaling numbers (factor 8, original context 8192, base 500000, head_dim
    # 128) at positions up to 4096: the text five times over, one chunk size of 4096.
    ("llama31-long", dict(BASE, arch="llama", dim=256, heads=2, kv_heads=1, ffn=256, ctx=8192,
                          rope_scaling="llama3", rope_orig_ctx=8192, text_repeat=5, ppl_ctx=4096)),
]
LONG_TYPES = ["f32"]
# A trained model too: stories260K from shared/data (llama, F32, sharp logits).
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
FILES = [("stories260K", "models/stories260K.gguf")]
TYPES = ["f32", "q8_0"]


def make_args(spec, typ, out):
    a = ["make", "--arch", spec["arch"], "--dim", str(spec["dim"]), "--layers", str(spec["layers"]),
         "--heads", str(spec["heads"]), "--kv-heads", str(spec["kv_heads"]), "--ffn", str(spec["ffn"]),
         "--vocab", str(spec["vocab"]), "--ctx", str(spec["ctx"]), "--type", typ, "--seed", str(spec["seed"]),
         "-o", out]
    if spec["head_dim"]:
        a += ["--head-dim", str(spec["head_dim"])]
    if spec["rope_scaling"]:
        a += ["--rope-scaling", spec["rope_scaling"], "--rope-factor", str(spec["rope_factor"]),
              "--rope-orig-ctx", str(spec["rope_orig_ctx"])]
    return a


def llama_dirs(src):
    return os.path.join(src, "build", "bin"), os.path.join(src, "include"), os.path.join(src, "ggml", "include")


def build_helper(src, out):
    bindir, inc, ginc = llama_dirs(src)
    subprocess.run(["g++", "-O1", "-std=c++17", "-I" + inc, "-I" + ginc,
                    os.path.join(ROOT, "scripts", "golden", "llama_golden.cpp"), "-L" + bindir,
                    "-lllama", "-lggml", "-lggml-base", "-Wl,-rpath," + bindir, "-o", out], check=True)


def llama_ppl(bindir, model, text_file, ctx, extra=()):
    out = subprocess.run([os.path.join(bindir, "llama-perplexity"), "-m", model, "-f", text_file,
                          "-c", str(ctx), "-t", "2"] + list(extra), capture_output=True, text=True, check=True)
    m = re.search(r"Final estimate: PPL = ([0-9.]+)", out.stdout + out.stderr)
    if not m:
        sys.exit(f"{model}: no PPL in llama-perplexity output")
    return float(m.group(1))


def reference(helper, bindir, model, text_file, ctx, bos):
    """llama.cpp's perplexity (default F16 KV cache, and an F32 one), token ids, greedy runs."""
    ppl = llama_ppl(bindir, model, text_file, ctx)
    ppl_kv_f32 = llama_ppl(bindir, model, text_file, ctx, ["-ctk", "f32", "-ctv", "f32"])
    first = subprocess.run([helper, model, text_file, "1", "1"], capture_output=True, text=True, check=True)
    text_ids = json.loads(first.stdout)["text_ids"]
    # Prompts: 8-token slices of the text (after BOS for a vocab that adds it).
    prompts = []
    for k in range(N_PROMPTS):
        s = 1 + k * (len(text_ids) // (N_PROMPTS + 1))
        prompts.append(bos + text_ids[s:s + 8])
    run = subprocess.run([helper, model, text_file, str(N_GEN)] + [",".join(map(str, p)) for p in prompts],
                         capture_output=True, text=True, check=True)
    joined = ",".join(map(str, text_ids)).encode()
    return {
        "perplexity": ppl,
        "perplexity_kv_f32": ppl_kv_f32,
        "text_ids_count": len(text_ids),
        "text_ids_sha256": hashlib.sha256(joined).hexdigest(),
        "greedy": json.loads(run.stdout)["greedy"],
    }


def write(path, doc):
    text = json.dumps(doc, indent=1)
    # number lists on one line each
    text = re.sub(r"\[\s+([-0-9.e,\s]*?)\s+\]",
                  lambda m: "[" + ",".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"{path}: ppl {doc['perplexity']} (F32 KV cache {doc['perplexity_kv_f32']}), "
          f"{doc['text_ids_count']} text tokens")


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: regen_golden.py LLAMA_CPP_DIR [QWEN3_LLAMA_CPP_DIR] (source dirs with build/bin)")
    src = os.path.abspath(sys.argv[1])
    src_qwen3 = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else None
    tool = os.path.join(ROOT, "build", "bin", "infergrid-gguf")
    tmp = tempfile.mkdtemp(prefix="ig_golden_")
    helpers = {}
    for name, spec in CASES:
        lsrc = src_qwen3 if name == "qwen3" else src
        if lsrc is None:
            print(f"skip {name}: this llama.cpp has no qwen3; pass a second build dir with it")
            continue
        if lsrc not in helpers:
            helpers[lsrc] = os.path.join(tmp, f"llama_golden_{len(helpers)}")
            build_helper(lsrc, helpers[lsrc])
        bindir = llama_dirs(lsrc)[0]
        for typ in (LONG_TYPES if "text_repeat" in spec else TYPES):
            model = os.path.join(tmp, f"{name}-{typ}.gguf")
            subprocess.run([tool] + make_args(spec, typ, model), check=True, stdout=subprocess.DEVNULL)
            repeat = spec.get("text_repeat", 1)
            ctx = spec.get("ppl_ctx", CTX)
            text_file = TEXT
            if repeat > 1:
                text_file = os.path.join(tmp, "text-x%d.txt" % repeat)
                with open(TEXT) as src_f, open(text_file, "w") as dst_f:
                    dst_f.write(src_f.read() * repeat)
            bos = [1] if spec["arch"] == "llama" else []
            doc = {
                "about": "llama.cpp reference for tests/inference/engine/engine_golden_test.cpp; "
                         "regenerate with scripts/golden/regen_golden.sh",
                "llama_cpp": os.environ.get("LLAMA_CPP_COMMIT", "c392e50") + (" + qwen3 backport" if name == "qwen3" else ""),
                "spec": {k: v for k, v in dict(spec, type=typ).items() if k not in ("text_repeat", "ppl_ctx")},
                "text": "text.txt",
                "text_repeat": repeat,
                "ctx": ctx,
            }
            doc.update(reference(helpers[lsrc], bindir, model, text_file, ctx, bos))
            write(os.path.join(GOLDEN, f"{name}-{typ}.json"), doc)
    for name, rel in FILES:
        if src not in helpers:
            helpers[src] = os.path.join(tmp, "llama_golden_main")
            build_helper(src, helpers[src])
        doc = {
            "about": "llama.cpp reference for tests/inference/engine/engine_golden_test.cpp; "
                     "regenerate with scripts/golden/regen_golden.sh",
            "llama_cpp": os.environ.get("LLAMA_CPP_COMMIT", "c392e50"),
            "shared_model": rel,
            "text": "text.txt",
            "text_repeat": 1,
            "ctx": CTX,
        }
        doc.update(reference(helpers[src], llama_dirs(src)[0], os.path.join(SHARED, rel), TEXT, CTX, [1]))
        write(os.path.join(GOLDEN, f"{name}.json"), doc)


if __name__ == "__main__":
    main()
