// The explorer in a real browser: Debian's headless Chromium, driven by playwright-core, loads
// NODE_URL/explorer from a running devnet and the test checks the rendered DOM against what the
// node's RPC reports (a block height, a task's generated text, a miner's address), follows a
// few links, saves a screenshot for a person to look at, and fails on any console error.
//
//   IG_JS_DIR=build/js NODE_URL=http://127.0.0.1:8546 node explorer_test.mjs [SCREENSHOT.png]
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(path.resolve(process.env.IG_JS_DIR, "package.json"));
const { chromium } = require("playwright-core");

const node = process.env.NODE_URL;
const shot = process.argv[2] || path.join(process.env.IG_STATE_DIR || ".", "explorer.png");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!fs.existsSync(chromiumPath)) {
  console.log(`SKIP: ${chromiumPath} is not installed (scripts/setup --tests installs Debian's chromium)`);
  process.exit(77);
}

async function rpc(method, params = []) {
  const r = await fetch(node + "/", { method: "POST", headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const j = await r.json();
  if (j.error) throw new Error(`${method}: ${j.error.message}`);
  return j.result;
}

const fails = [];
const check = (ok, what) => { if (!ok) fails.push(what); console.log(`${ok ? "ok  " : "FAIL"} ${what}`); };

// What the page must show, from the node itself.
const miners = await rpc("registry_miners");
const tasks = await rpc("task_list", [1, 100]);
const settled = tasks.find((t) => t.status === "settled" && t.result && t.result.text.trim().length > 10);
if (!miners.length || !settled) throw new Error("the devnet has no miners or no settled task to look for");

// Flags of the machine notes (docs: .library/env/machines/cpp.md, "Known to work").
const browser = await chromium.launch({
  executablePath: chromiumPath,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("console", (m) => { if (m.type() === "error") errors.push(`console: ${m.text()}`); });
  page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
  page.on("requestfailed", (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(node + "/explorer", { waitUntil: "load" });

  // The head height pill follows the chain: at least the height the RPC reported before.
  const before = (await rpc("chain_head")).height;
  await page.waitForFunction((h) => {
    const m = /height (\d+)/.exec(document.querySelector("[data-testid=head-height]")?.textContent || "");
    return m && Number(m[1]) >= h;
  }, before, { timeout: 20000 });
  check(true, `head height shown, at least ${before}`);

  // A block height the RPC reports now appears in the latest-blocks table (live, via newHeads).
  const head = (await rpc("chain_head")).height;
  await page.waitForSelector(`[data-testid=blocks] tr[data-height="${head}"]`, { timeout: 20000 });
  const headBlock = await rpc("chain_getBlock", [head, false]);
  const rowText = await page.textContent(`[data-testid=blocks] tr[data-height="${head}"]`);
  check(rowText.includes(String(head)), `block ${head} listed`);
  check(await page.$(`[data-testid=blocks] a[title="${headBlock.hash}"]`) !== null, `block ${head} hash ${headBlock.hash.slice(0, 12)}… linked`);

  // A task's generated text, in the tasks table and in full on its own view.
  await page.waitForSelector(`[data-testid=tasks] tr[data-task-id="${settled.id}"]`, { timeout: 20000 });
  const cell = await page.textContent(`[data-testid=tasks] tr[data-task-id="${settled.id}"] [data-testid=task-text]`);
  check(settled.result.text.startsWith(cell.replace(/…$/, "")), `task ${settled.id} text in the tasks table`);

  // A miner's address, linked to its account view.
  const m = miners[0];
  check(await page.$(`[data-testid=miners] tr[data-miner="${m.account}"] a[title="${m.account}"]`) !== null,
        `miner ${m.account.slice(0, 14)}… listed and linked`);

  // Charts are drawn (SVG) once an epoch has been seen; the block interval chart always is.
  check(await page.$("[data-testid=chart-interval] svg") !== null, "block interval chart drawn");
  check(await page.$("[data-testid=chart-settled] svg") !== null, "tasks-settled chart drawn");
  check(await page.$("[data-testid=chart-incentive] svg") !== null, "incentive chart drawn");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot: ${shot}`);

  // Links lead to their views.
  await page.click(`[data-testid=tasks] tr[data-task-id="${settled.id}"] a[href="#/task/${settled.id}"]`);
  await page.waitForSelector("[data-testid=task-full-text]");
  check((await page.textContent("[data-testid=task-full-text]")) === settled.result.text, `task ${settled.id} view shows the whole text`);
  await page.click(`a[title="${settled.miner}"]`);
  await page.waitForFunction((a) => document.querySelector("main")?.textContent.includes(a), settled.miner);
  check(true, "miner account view");
  await page.goto(`${node}/explorer#/block/${head}`);
  await page.waitForFunction((h) => document.querySelector("main h2")?.textContent === `Block ${h}`, head);
  check(true, `block ${head} view`);
  await page.goto(`${node}/explorer#/tx/${settled.result.tx_hash}`);
  await page.waitForFunction(() => document.querySelector("main h2")?.textContent.startsWith("Transaction"));
  check(true, "transaction view");
} finally {
  await browser.close();
}
for (const e of errors) fails.push(e);
check(errors.length === 0, `no console errors (${errors.length})`);
for (const f of fails) console.log(`failed: ${f}`);
process.exit(fails.length ? 1 : 0);
