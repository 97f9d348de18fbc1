// The gateway driven by a real third-party client, the `openai` npm package, against a devnet
// with miners: models.list / retrieve, completions.create (greedy and sampled), a streamed and a
// plain chat.completions.create, and an unknown model. Every answer must be the verified
// stories260K text that `infergrid-infer generate` gives for the same prompt and parameters,
// with usage counted as the engine counts it and the task on chain as the extension says.
//
//   IG_JS_DIR=build/js GATEWAY_URL=… NODE_URL=… BIN_DIR=build/bin MODEL=…/stories260K.gguf node openai_test.mjs
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import path from "node:path";

const require = createRequire(path.resolve(process.env.IG_JS_DIR, "package.json"));
const OpenAI = require("openai");

const { GATEWAY_URL, NODE_URL, BIN_DIR, MODEL } = process.env;
const client = new OpenAI({ baseURL: `${GATEWAY_URL}/v1`, apiKey: "none", timeout: 240000, maxRetries: 0 });

const fails = [];
const check = (ok, what) => { if (!ok) fails.push(what); console.log(`${ok ? "ok  " : "FAIL"} ${what}`); };

// The reference: the engine itself, run locally with the task's parameters.
function reference(prompt, { max_tokens, temperature = 0, top_p, top_k, seed }) {
  const args = ["generate", "--model", MODEL, "--prompt", prompt, "--max-tokens", String(max_tokens),
                "--temperature", String(temperature), "--json"];
  if (top_p !== undefined) args.push("--top-p", String(top_p));
  if (top_k !== undefined) args.push("--top-k", String(top_k));
  if (seed !== undefined) args.push("--seed", String(seed));
  const out = JSON.parse(execFileSync(path.join(BIN_DIR, "infergrid-infer"), args, { stdio: ["ignore", "pipe", "ignore"] }));
  return { text: out.text, completion: out.output_ids.length, prompt: out.prompt_tokens };
}

async function rpc(method, params) {
  const r = await fetch(NODE_URL + "/", { method: "POST", headers: { "Content-Type": "application/json" },
                                          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return (await r.json()).result;
}

// models.list: the registered models, id = the model hash, with the name in the extension.
const models = await client.models.list();
const stories = models.data.find((m) => m.infergrid?.name === "stories260K");
check(!!stories && /^[0-9a-f]{64}$/.test(stories.id), `models.list has stories260K with a 64-hex id (${models.data.length} models)`);
const one = await client.models.retrieve(stories.id);
check(one.id === stories.id && one.object === "model", "models.retrieve by id");

// completions.create, greedy, by model name.
{
  const want = reference("Once upon a time", { max_tokens: 24 });
  const c = await client.completions.create({ model: "stories260K", prompt: "Once upon a time", max_tokens: 24, temperature: 0 });
  check(c.choices[0].text === want.text, `greedy completion equals infergrid-infer: ${JSON.stringify(c.choices[0].text.slice(0, 50))}`);
  check(c.usage.completion_tokens === want.completion && c.usage.prompt_tokens === want.prompt,
        `usage ${c.usage.prompt_tokens}+${c.usage.completion_tokens} as the engine counts (${want.prompt}+${want.completion})`);
  check(c.object === "text_completion" && c.model === stories.id, "object and model fields");
  const x = c.infergrid;
  check(x && x.status === "settled" && x.verified === true && x.verdicts.length > 0, `verified on chain (task ${x?.task_id}, ${x?.verdicts?.length} verdicts)`);
  const onchain = await rpc("task_get", [x.task_id]);
  check(onchain.result.text === c.choices[0].text && onchain.result.receipt.receipt_id === x.receipt_id,
        "the task on chain holds this text and receipt");
  check(c.choices[0].finish_reason === (want.completion < 24 ? "stop" : "length"), `finish_reason ${c.choices[0].finish_reason}`);
}

// completions.create, sampled, with a seed (and top_k, an extension parameter).
{
  const p = { max_tokens: 20, temperature: 0.8, top_p: 0.95, top_k: 40, seed: 4242 };
  const want = reference("The little dog ran", p);
  const c = await client.completions.create({ model: stories.id, prompt: "The little dog ran", ...p });
  check(c.choices[0].text === want.text, `sampled completion (seed 4242) equals infergrid-infer: ${JSON.stringify(c.choices[0].text.slice(0, 40))}`);
  check(c.infergrid.params.seed === 4242 && c.infergrid.params.temperature_milli === 800 && c.infergrid.params.top_p_milli === 950,
        "the task's milli-integer parameters");
}

// A streamed chat: one user message is the prompt as is (stories260K has no chat template).
{
  const want = reference("Once upon a time", { max_tokens: 20 });
  const stream = await client.chat.completions.create({
    model: "stories260K", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 20, temperature: 0,
    stream: true, stream_options: { include_usage: true },
  });
  let text = "", chunks = 0, role = null, finish = null, usage = null, ext = null;
  for await (const ch of stream) {
    chunks++;
    const d = ch.choices?.[0]?.delta;
    if (d?.role) role = d.role;
    text += d?.content ?? "";
    if (ch.choices?.[0]?.finish_reason) { finish = ch.choices[0].finish_reason; ext = ch.infergrid; }
    if (ch.usage) usage = ch.usage;
  }
  check(text === want.text, `streamed chat equals infergrid-infer (${chunks} chunks): ${JSON.stringify(text.slice(0, 40))}`);
  check(role === "assistant" && !!finish && chunks >= 3, `stream opens with the assistant role and closes with finish_reason ${finish}`);
  check(usage && usage.completion_tokens === want.completion, "stream_options.include_usage sends usage");
  check(ext && ext.status === "settled" && ext.prompt_template === "plain", "the closing chunk carries the extension (plain template)");
}

// A plain chat with a system message: the documented fallback joins the contents by newlines.
{
  const want = reference("You tell stories.\nTell me a story about a cat.", { max_tokens: 16 });
  const c = await client.chat.completions.create({
    model: "stories260K", max_tokens: 16, temperature: 0,
    messages: [{ role: "system", content: "You tell stories." }, { role: "user", content: "Tell me a story about a cat." }],
  });
  check(c.choices[0].message.role === "assistant" && c.choices[0].message.content === want.text,
        `chat with a system message equals infergrid-infer on the plain template: ${JSON.stringify(want.text.slice(0, 40))}`);
}

// An unknown model is the client's NotFoundError (404).
{
  let status = 0, code = null;
  try { await client.completions.create({ model: "no-such-model", prompt: "x", max_tokens: 4 }); } catch (e) { status = e.status; code = e.code; }
  check(status === 404 && code === "model_not_found", `unknown model: ${status} ${code}`);
}

for (const f of fails) console.log(`failed: ${f}`);
console.log(`${fails.length} failed`);
process.exit(fails.length ? 1 : 0);
