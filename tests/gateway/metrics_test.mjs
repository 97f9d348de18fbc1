// GET /metrics on the node, the gateway and the miners, read by a Prometheus text-format parser
// (the npm package parse-prometheus-text-format), scraped before and after a completion through
// the gateway: the values must move as blocks and tasks happen, and every family must follow
// the naming conventions documented in docs/metrics.md.
//
//   IG_JS_DIR=build/js NODE_URL=… GATEWAY_URL=… NODE_PORT=… node metrics_test.mjs
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.resolve(process.env.IG_JS_DIR, "package.json"));
const parse = require("parse-prometheus-text-format");

const { NODE_URL, GATEWAY_URL, NODE_PORT } = process.env;
const minerUrls = [30, 31, 32].map((o) => `http://127.0.0.1:${Number(NODE_PORT) + o}/metrics`);

const fails = [];
const check = (ok, what) => { if (!ok) fails.push(what); console.log(`${ok ? "ok  " : "FAIL"} ${what}`); };

async function scrape(url) {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status}`);
  const type = r.headers.get("content-type") || "";
  const text = await r.text();
  return { type, families: parse(text), text };
}

// The value of a counter or gauge sample (labels must match), a histogram's count, or a
// summary's count; 0 when absent.
function value(families, name, labels = {}, field = "value") {
  const f = families.find((x) => x.name === name);
  if (!f) return undefined;
  let total = 0, found = false;
  for (const m of f.metrics) {
    if (!Object.entries(labels).every(([k, v]) => (m.labels || {})[k] === v)) continue;
    found = true;
    total += Number(field === "value" ? (m.value ?? m.count) : m[field]);
  }
  return found ? total : 0;
}

function conventions(families, where) {
  const bad = [];
  for (const f of families) {
    if (!/^infergrid_[a-z0-9_]+$/.test(f.name)) bad.push(`${f.name}: not infergrid_snake_case`);
    if (!f.help) bad.push(`${f.name}: no HELP`);
    if (f.type === "COUNTER" && !f.name.endsWith("_total")) bad.push(`${f.name}: a counter without _total`);
    if (f.type !== "COUNTER" && f.name.endsWith("_total")) bad.push(`${f.name}: _total on a ${f.type}`);
    if (/_(ms|milliseconds|bytes_kb)$/.test(f.name)) bad.push(`${f.name}: not in base units`);
  }
  check(bad.length === 0, `${where}: ${families.length} families follow the conventions${bad.length ? ": " + bad.join("; ") : ""}`);
}

const before = {
  node: await scrape(`${NODE_URL}/metrics`),
  gateway: await scrape(`${GATEWAY_URL}/metrics`),
  miners: await Promise.all(minerUrls.map(scrape)),
};
check(before.node.type.startsWith("text/plain; version=0.0.4"), `node Content-Type ${before.node.type}`);
conventions(before.node.families, "node");
conventions(before.gateway.families, "gateway");
conventions(before.miners[0].families, "miner");

// What the devnet already did: blocks, verdicts both ways, the cheater slashed, an epoch.
const n0 = before.node.families;
check(value(n0, "infergrid_chain_height") > 0, `chain height ${value(n0, "infergrid_chain_height")}`);
check(value(n0, "infergrid_slashes_total", { role: "miner" }) >= 1, "the cheating miner's slash is counted");
check(value(n0, "infergrid_verdicts_total", { accept: "false" }) >= 1 && value(n0, "infergrid_verdicts_total", { accept: "true" }) >= 1,
      "verdicts by outcome");
check(value(n0, "infergrid_epochs_total") >= 1, "Yuma epochs counted");
for (const name of ["infergrid_mempool_transactions", "infergrid_consensus_round", "infergrid_rpc_subscriptions",
                    "infergrid_block_interval_seconds", "infergrid_block_commit_latency_seconds", "infergrid_tasks",
                    "infergrid_verifier_verification_seconds", "infergrid_rpc_requests_total", "infergrid_rpc_errors_total"])
  check(n0.some((f) => f.name === name), `node exposes ${name}`);
for (const name of ["infergrid_miner_tokens_per_second", "infergrid_miner_queue_depth", "infergrid_miner_generation_seconds",
                    "infergrid_miner_decode_steps_total", "infergrid_miner_decode_sequence_steps_total",
                    "infergrid_miner_decode_batch_peak"])
  check(before.miners[0].families.some((f) => f.name === name), `miner exposes ${name}`);

// A completion through the gateway makes tasks, verdicts and blocks happen.
const r = await fetch(`${GATEWAY_URL}/v1/completions`, {
  method: "POST", headers: { "Content-Type": "application/json" },
  body: JSON.stringify({ model: "stories260K", prompt: "The sun was shining and", max_tokens: 12, temperature: 0 }),
});
const body = await r.json();
check(r.status === 200 && body.infergrid.status === "settled", `a completion through the gateway (task ${body.infergrid?.task_id})`);
await new Promise((res) => setTimeout(res, 1500));  // a few more blocks

const after = {
  node: await scrape(`${NODE_URL}/metrics`),
  gateway: await scrape(`${GATEWAY_URL}/metrics`),
  miners: await Promise.all(minerUrls.map(scrape)),
};
const n1 = after.node.families;
const grew = (fam0, fam1, name, labels, field) => {
  const a = value(fam0, name, labels, field), b = value(fam1, name, labels, field);
  check(b > a, `${name}${Object.keys(labels || {}).length ? JSON.stringify(labels) : ""} moved: ${a} -> ${b}`);
};
grew(n0, n1, "infergrid_chain_height");
grew(n0, n1, "infergrid_blocks_committed_total");
grew(n0, n1, "infergrid_block_interval_seconds", {}, "count");
grew(n0, n1, "infergrid_events_total", { type: "task_submitted" });
grew(n0, n1, "infergrid_tasks_closed_total", { status: "settled" });
grew(n0, n1, "infergrid_verdicts_total", { accept: "true" });
grew(n0, n1, "infergrid_transactions_total");
grew(n0, n1, "infergrid_rpc_requests_total", { method: "tx_send" });
grew(n0, n1, "infergrid_verifier_verdicts_total", { accept: "true" });
grew(before.gateway.families, after.gateway.families, "infergrid_gateway_requests_total", { route: "completions", code: "200" });
grew(before.gateway.families, after.gateway.families, "infergrid_gateway_tasks_submitted_total");
grew(before.gateway.families, after.gateway.families, "infergrid_gateway_completion_duration_seconds", {}, "count");
const sum = (s, name) => s.miners.reduce((a, m) => a + (value(m.families, name) || 0), 0);
check(sum(after, "infergrid_miner_results_submitted_total") > sum(before, "infergrid_miner_results_submitted_total"),
      "the miners' submitted results moved");
check(sum(after, "infergrid_miner_tokens_generated_total") > sum(before, "infergrid_miner_tokens_generated_total"),
      "the miners' generated tokens moved");
check(sum(after, "infergrid_miner_decode_steps_total") > sum(before, "infergrid_miner_decode_steps_total"),
      "the miners' decode passes moved");
// Every pass carries at least one task: sequence steps never fall below steps.
check(sum(after, "infergrid_miner_decode_sequence_steps_total") >= sum(after, "infergrid_miner_decode_steps_total"),
      "decode sequence steps >= steps");

for (const f of fails) console.log(`failed: ${f}`);
console.log(`${fails.length} failed`);
process.exit(fails.length ? 1 : 0);
