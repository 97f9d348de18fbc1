// The acceptance check, ../shared/checks/openai_check.mjs, against the fixture's devnet:
// it is copied next to build/js/node_modules (it imports "openai" by name) and given the text
// `infergrid-infer generate` writes for its prompt and parameters (greedy, 24 tokens).
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const check = process.env.OPENAI_CHECK || path.resolve(here, "../../../shared/checks/openai_check.mjs");
if (!fs.existsSync(check)) {
  console.log(`SKIP: ${check} is not there (../shared beside the checkout)`);
  process.exit(77);
}
const js = path.resolve(process.env.IG_JS_DIR);
const copy = path.join(js, "openai_check.mjs");
fs.copyFileSync(check, copy);
const out = JSON.parse(execFileSync(path.join(process.env.BIN_DIR, "infergrid-infer"),
  ["generate", "--model", process.env.MODEL, "--prompt", "Once upon a time", "--max-tokens", "24", "--temperature", "0", "--json"],
  { stdio: ["ignore", "pipe", "ignore"] }));
const expected = path.join(process.env.IG_STATE_DIR, "expected.txt");
fs.writeFileSync(expected, out.text);
console.log(`expected: ${JSON.stringify(out.text)}`);
const r = spawnSync(process.execPath, [copy, `${process.env.GATEWAY_URL}/v1`, expected], { stdio: "inherit" });
process.exit(r.status ?? 1);
