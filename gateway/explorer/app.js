// The explorer (docs/explorer.md): latest blocks and transactions, tasks, miners, validators
// and charts, kept live by newHeads and events subscriptions; one view per block, transaction,
// task, account and model (#/block/H, #/tx/HASH, #/task/ID, #/account/ADDR, #/model/ID).
"use strict";

const { el, short, link, block, hash, addr, task, share, amount, when, table, row, section, fields, pre, statusTag } = V;
const KEEP_BLOCKS = 40, SHOW_BLOCKS = 15, SHOW_TASKS = 30;

const S = {
  chainId: "", head: 0, blocks: new Map(), txBlocks: new Map(), tasks: new Map(), maxTask: 0,
  miners: [], validators: [], models: [], params: null, lastEpoch: null,
  history: { blocks: [], epochs: [] }, names: new Map(), proposers: new Map(),
  dirtyTasks: new Set(), need: new Set(), loaded: false,
};

const rpc = new Rpc(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`, (up) => {
  const c = document.getElementById("conn");
  c.textContent = up ? "live" : "reconnecting…";
  c.className = `pill ${up ? "ok" : "wait"}`;
  if (up) loadAll().catch((e) => console.warn("load failed:", e.message));
});

// --- loading ------------------------------------------------------------------------------------
async function loadAll() {
  const [info, head] = await rpc.batch([["node_info", []], ["chain_head", []]]);
  if (!head) return;
  S.chainId = head.chain_id;
  S.head = head.height;
  document.getElementById("chain").textContent = `${head.chain_id} · ${info ? info.moniker : ""}`;
  document.getElementById("head").textContent = `height ${S.head}`;
  await Promise.all([loadRegistry(), loadHistory(), loadBlocks(), loadTasks()]);
  S.loaded = true;
  route();
}

async function loadRegistry() {
  const [models, miners, validators, epoch, params] = await rpc.batch([
    ["registry_models", []], ["registry_miners", []], ["staking_validators", []], ["yuma_lastEpoch", []], ["contracts_params", []],
  ]);
  S.models = models || [];
  S.miners = miners || [];
  S.validators = validators || [];
  S.lastEpoch = epoch;
  S.params = params;
  for (const v of S.validators) {
    S.names.set(v.account, v.name);
    S.proposers.set(v.consensus_key, v);
  }
  for (const m of S.miners) if (!S.names.has(m.account)) S.names.set(m.account, `miner ${m.uid}`);
}

async function loadHistory() {
  S.history = (await rpc.call("explorer_history", [])) || { blocks: [], epochs: [] };
}

async function loadBlocks() {
  const want = [];
  for (let h = S.head; h >= 1 && want.length < KEEP_BLOCKS; h--) if (!S.blocks.has(h)) want.push(h);
  const got = await rpc.batch(want.map((h) => ["chain_getBlock", [h, true]]));
  got.forEach((b) => { if (b) S.blocks.set(b.header.height, b); });
  trimBlocks();
  await loadOlderTxs();
}

// The latest transactions may be older than the latest blocks (a quiet chain makes empty
// blocks): look further back, hashes only, a hundred blocks per message, up to 2,000 blocks.
async function loadOlderTxs() {
  let have = 0;
  for (const b of S.blocks.values()) have += b.txs.length;
  let h = Math.min(...S.blocks.keys(), S.head + 1) - 1;
  const stop = Math.max(1, h - 2000);
  while (have < SHOW_BLOCKS && h >= stop) {
    const heights = [];
    for (let i = 0; i < 100 && h >= stop; i++, h--) heights.push(h);
    const thin = await rpc.batch(heights.map((x) => ["chain_getBlock", [x, false]]));
    const withTxs = thin.filter((b) => b && b.txs.length).map((b) => b.header.height);
    const full = await rpc.batch(withTxs.map((x) => ["chain_getBlock", [x, true]]));
    for (const b of full) if (b && have < SHOW_BLOCKS) { S.txBlocks.set(b.header.height, b); have += b.txs.length; }
  }
}

function trimBlocks() {
  const hs = [...S.blocks.keys()].sort((a, b) => b - a);
  for (const h of hs.slice(KEEP_BLOCKS)) {
    const b = S.blocks.get(h);
    if (b.txs.length) S.txBlocks.set(h, b);  // still among the latest transactions
    S.blocks.delete(h);
  }
  const th = [...S.txBlocks.keys()].sort((a, b) => b - a);
  for (const h of th.slice(KEEP_BLOCKS)) S.txBlocks.delete(h);
}

// Task ids are sequential: the largest existing one is found by doubling, then bisecting.
async function findMaxTask() {
  const probes = [];
  for (let i = 0; i <= 30; i++) probes.push(2 ** i);
  const got = await rpc.batch(probes.map((id) => ["task_get", [id]]));
  let k = -1;
  got.forEach((t, i) => { if (t) k = i; });
  if (k < 0) return 0;
  let lo = 2 ** k, hi = 2 ** (k + 1);  // lo exists, hi does not
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const [t] = await rpc.batch([["task_get", [mid]]]);
    if (t) lo = mid; else hi = mid;
  }
  return lo;
}

async function loadTasks() {
  S.maxTask = Math.max(S.maxTask, await findMaxTask());
  if (!S.maxTask) return;
  const from = Math.max(1, S.maxTask - SHOW_TASKS + 1);
  const list = (await rpc.call("task_list", [from, SHOW_TASKS])) || [];
  for (const t of list) S.tasks.set(t.id, t);
}

// --- live updates -------------------------------------------------------------------------------
rpc.subscribe("newHeads", null, (h) => {
  S.head = Math.max(S.head, h.height);
  document.getElementById("head").textContent = `height ${S.head}`;
  S.need.add("block:" + h.height);
  if (h.height % 5 === 0) S.need.add("history");
});
rpc.subscribe("events", null, (e) => {
  if (e.task) {
    const id = Number(e.task);
    S.dirtyTasks.add(id);
    if (id > S.maxTask) S.maxTask = id;
  }
  if (e.type === "epoch") { S.need.add("history"); S.need.add("registry"); }
  if (/^(miner_|stake|unbond|slash|validator_|model_)/.test(e.type) || e.type === "task_settled") S.need.add("registry");
});

// Applies what the notifications asked for, at most once a second, then redraws.
async function refresh() {
  if (!S.loaded) return;
  const need = S.need, dirty = S.dirtyTasks;
  S.need = new Set();
  S.dirtyTasks = new Set();
  if (!need.size && !dirty.size) return;
  const calls = [];
  for (const n of need) if (n.startsWith("block:")) calls.push(["chain_getBlock", [Number(n.slice(6)), true]]);
  for (const id of dirty) calls.push(["task_get", [id]]);
  const got = await rpc.batch(calls);
  for (const r of got) {
    if (!r) continue;
    if (r.header) S.blocks.set(r.header.height, r);
    else if (r.id !== undefined) S.tasks.set(r.id, r);
  }
  trimBlocks();
  const ids = [...S.tasks.keys()].sort((a, b) => b - a);
  for (const id of ids.slice(SHOW_TASKS * 2)) S.tasks.delete(id);
  if (need.has("registry")) await loadRegistry();
  if (need.has("history")) await loadHistory();
  redraw(dirty);
}
setInterval(() => refresh().catch((e) => console.warn("refresh failed:", e.message)), 1000);

function redraw(dirtyTasks) {
  const r = parseRoute();
  if (r.kind === "home") return renderHome();
  if (r.kind === "task" && dirtyTasks.has(Number(r.arg))) return route();
}

// --- routing ------------------------------------------------------------------------------------
function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  return { kind: parts[0] || "home", arg: decodeURIComponent(parts.slice(1).join("/")) };
}

async function route() {
  if (!S.loaded) return;
  const { kind, arg } = parseRoute();
  const views = { home: renderHome, block: renderBlock, tx: renderTx, task: renderTask, account: renderAccount, model: renderModel };
  const view = views[kind] || renderHome;
  try {
    await view(arg);
  } catch (e) {
    show(section("Not found", el("p", {}, `${kind} ${arg}: ${e.message}`)));
  }
}
window.addEventListener("hashchange", () => route());

function show(...nodes) {
  const main = document.getElementById("view");
  main.textContent = "";
  for (const n of nodes) main.appendChild(n);
}

document.getElementById("search").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (/^#?\d+$/.test(q) && q.startsWith("#")) location.hash = `#/task/${q.slice(1)}`;
  else if (/^\d+$/.test(q)) location.hash = `#/block/${q}`;
  else if (/^ig1/i.test(q)) location.hash = `#/account/${q}`;
  else if (/^(0x)?[0-9a-fA-F]{64}$/.test(q)) location.hash = `#/tx/${q.replace(/^0x/, "")}`;
  else if (/^task\s+\d+$/i.test(q)) location.hash = `#/task/${q.split(/\s+/)[1]}`;
});

// --- the home view ------------------------------------------------------------------------------
function txSummary(tx) {
  const p = tx.payload || {};
  switch (tx.type) {
    case "Transfer": return [`${amount(p.amount)} to `, addr(p.to, S.names)];
    case "SubmitTask": return `“${short(p.prompt || "", 40)}”`;
    case "SubmitResult": return ["result for ", task(p.task_id), `: ${(p.output_tokens || []).length} tokens`];
    case "Verdict": return [`${p.accept ? "accept" : "REJECT"} `, task(p.task_id)];
    case "CancelTask": return ["cancel ", task(p.task_id)];
    default: return "";
  }
}

function miningRewards() {
  const sum = new Map();
  for (const e of S.history.epochs || [])
    for (const a of e.accounts || []) sum.set(a.account, (sum.get(a.account) || 0) + Number(a.emission || 0));
  return sum;
}

function lastEpochOf(account) {
  return ((S.lastEpoch && S.lastEpoch.uids) || []).find((u) => u.account === account);
}

function renderHome() {
  const blocks = [...S.blocks.values()].sort((a, b) => b.header.height - a.header.height);
  const hist = S.history.blocks || [];
  const intervals = [];
  for (let i = 1; i < hist.length; i++) intervals.push((hist[i].time_ms - hist[i - 1].time_ms) / 1000);
  const avg = intervals.length ? intervals.reduce((a, b) => a + b, 0) / intervals.length : 0;
  const settled = hist.reduce((a, b) => a + b.tasks_settled, 0);
  const stat = (label, value, id) => el("div", { class: "stat", "data-testid": id }, el("div", { class: "value" }, value), el("div", { class: "label" }, label));
  const stats = el("div", { class: "stats" },
    stat("block height", S.head, "stat-height"), stat("avg block interval", avg ? `${avg.toFixed(2)} s` : "—", "stat-interval"),
    stat("validators", S.validators.filter((v) => v.active).length, "stat-validators"), stat("miners", S.miners.length, "stat-miners"),
    stat("tasks", S.maxTask, "stat-tasks"), stat(`tasks settled (last ${hist.length} blocks)`, settled, "stat-settled"));

  const charts = el("div", { class: "charts" });
  const cIncentive = el("div", { class: "card chart-card", "data-testid": "chart-incentive" });
  const cDividends = el("div", { class: "card chart-card", "data-testid": "chart-dividends" });
  const cInterval = el("div", { class: "card chart-card", "data-testid": "chart-interval" });
  const cSettled = el("div", { class: "card chart-card", "data-testid": "chart-settled" });
  charts.append(cIncentive, cDividends, cInterval, cSettled);
  drawCharts(cIncentive, cDividends, cInterval, cSettled, hist);

  const blockRows = blocks.slice(0, SHOW_BLOCKS).map((b) => {
    const v = S.proposers.get(b.header.proposer);
    return row({ "data-height": b.header.height }, [block(b.header.height), when(b.header.time_ms), b.txs.length,
      v ? addr(v.account, S.names) : short(b.header.proposer, 10), hash(b.hash || b.header.hash, "block")]);
  });
  const txRows = [];
  const txBlocks = [...blocks, ...[...S.txBlocks.values()].filter((b) => !S.blocks.has(b.header.height))]
    .sort((a, b) => b.header.height - a.header.height);
  for (const b of txBlocks) for (const t of b.txs) if (txRows.length < SHOW_BLOCKS && typeof t === "object")
    txRows.push(row({}, [hash(t.hash, "tx"), block(b.header.height), t.type, addr(t.sender, S.names), txSummary(t)]));

  const tasks = [...S.tasks.values()].sort((a, b) => b.id - a.id).slice(0, SHOW_TASKS);
  const modelName = (id) => (S.models.find((m) => m.model_id === id) || {}).name || short(id, 8);
  const taskRows = tasks.map((t) => {
    const ok = (t.verdicts || []).filter((v) => v.accept).length, bad = (t.verdicts || []).length - ok;
    return row({ "data-task-id": t.id }, [task(t.id), statusTag(t.status), link(modelName(t.model_id), `#/model/${t.model_id}`),
      addr(t.miner, S.names), (t.verdicts || []).length ? `✓${ok} ✗${bad}` : "—",
      el("span", { class: "gen", "data-testid": "task-text" }, t.result ? short(t.result.text, 70) : ""), amount(t.fee_paid)]);
  });
  const rewards = miningRewards();
  const minerRows = S.miners.map((m) => {
    const u = lastEpochOf(m.account);
    return row({ "data-miner": m.account }, [addr(m.account, S.names), m.uid, amount(m.stake), share(m.reliability),
      (m.latency_milli_blocks / 1000).toFixed(2), `${m.completed} / ${m.failed}`, m.open_tasks, u ? share(u.incentive) : "—",
      amount(rewards.get(m.account) || 0)]);
  });
  const validatorRows = S.validators.map((v) => {
    const u = lastEpochOf(v.account);
    return row({ "data-validator": v.account }, [v.name, addr(v.account, S.names), amount(v.stake), v.active ? "active" : "inactive",
      u ? share(u.dividends) : "—", amount(rewards.get(v.account) || 0)]);
  });
  show(stats, charts,
    el("div", { class: "two" },
      section("Latest blocks", table(["height", "time", "txs", "proposer", "hash"], blockRows, { "data-testid": "blocks" })),
      section("Latest transactions", table(["hash", "block", "type", "sender", ""], txRows, { "data-testid": "txs" }))),
    section("Tasks", table(["task", "status", "model", "miner", "verdicts", "generated text", "fee paid"], taskRows, { "data-testid": "tasks" })),
    section("Miners", table(["account", "uid", "stake", "reliability", "latency (blocks)", "completed / failed", "open",
      "incentive (last epoch)", "emission (epochs seen)"], minerRows, { "data-testid": "miners" })),
    section("Validators", table(["name", "account", "stake", "status", "dividends (last epoch)", "emission (epochs seen)"],
      validatorRows, { "data-testid": "validators" })));
}

function drawCharts(cIncentive, cDividends, cInterval, cSettled, hist) {
  const epochs = S.history.epochs || [];
  const xsE = epochs.map((e) => String(e.epoch));
  const byAccount = (key, accounts) => accounts.map((a) => ({
    name: S.names.get(a) || short(a, 10),
    values: epochs.map((e) => { const u = (e.accounts || []).find((x) => x.account === a); return u ? u[key] / 65535 : null; }),
  }));
  const minerAccounts = S.miners.map((m) => m.account);
  const validatorAccounts = S.validators.map((v) => v.account);
  Charts.line(cIncentive, { title: "Miner incentive per epoch", xs: xsE, series: byAccount("incentive", minerAccounts),
    xLabel: "epoch", yMax: 1, emptyText: "no Yuma epoch seen yet" });
  Charts.line(cDividends, { title: "Validator dividends per epoch", xs: xsE, series: byAccount("dividends", validatorAccounts),
    xLabel: "epoch", yMax: 1, emptyText: "no Yuma epoch seen yet" });
  const tail = hist.slice(-120);
  Charts.line(cInterval, { title: "Block interval (s)", xs: tail.slice(1).map((b) => String(b.height)),
    series: [{ name: "seconds between blocks", values: tail.slice(1).map((b, i) => (b.time_ms - tail[i].time_ms) / 1000) }],
    xLabel: "height" });
  const minutes = new Map();
  for (const b of hist) {
    const m = Math.floor(b.time_ms / 60000);
    const cur = minutes.get(m) || { settled: 0, rejected: 0 };
    cur.settled += b.tasks_settled;
    cur.rejected += b.tasks_rejected;
    minutes.set(m, cur);
  }
  const keys = [...minutes.keys()].sort((a, b) => a - b).slice(-15);
  Charts.bars(cSettled, { title: "Tasks settled per minute", xs: keys.map((m) => new Date(m * 60000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })),
    stacks: [{ name: "settled", values: keys.map((k) => minutes.get(k).settled) },
             { name: "rejected", values: keys.map((k) => minutes.get(k).rejected) }], xLabel: "minute" });
}

// --- detail views -------------------------------------------------------------------------------
async function renderBlock(arg) {
  const which = /^\d+$/.test(arg) ? Number(arg) : arg;
  const b = await rpc.call("chain_getBlock", [which, true]);
  const h = b.header;
  const v = S.proposers.get(h.proposer);
  show(section(`Block ${h.height}`, fields([
    ["hash", b.hash || h.hash], ["time", new Date(h.time_ms).toISOString()],
    ["previous", h.height > 1 ? link(h.prev_hash, `#/block/${h.height - 1}`) : h.prev_hash],
    ["next", h.height < S.head ? link(String(h.height + 1), `#/block/${h.height + 1}`) : "—"],
    ["proposer", v ? [v.name, " ", addr(v.account, S.names)] : h.proposer], ["state root", h.state_root], ["tx root", h.tx_root],
    ["transactions", b.txs.length]])),
  section("Transactions", table(["hash", "type", "sender", "fee", ""],
    b.txs.map((t) => row({}, [hash(t.hash, "tx"), t.type, addr(t.sender, S.names), amount(t.fee), txSummary(t)])))));
}

async function renderTx(arg) {
  const [tx, receipt] = await rpc.batch([["chain_getTx", [arg]], ["tx_receipt", [arg]]]);
  if (!tx) {
    // A 64-hex search may be a block hash.
    const b = await rpc.call("chain_getBlock", [arg, false]).catch(() => null);
    if (b) { location.hash = `#/block/${b.header.height}`; return; }
    throw new Error("no such transaction (yet)");
  }
  const t = tx.tx;
  const events = (receipt && receipt.events) || [];
  show(section(`Transaction ${short(tx.hash, 16)}`, fields([
    ["hash", tx.hash], ["block", block(tx.height)], ["index", tx.index], ["type", t.type], ["sender", addr(t.sender, S.names)],
    ["nonce", t.nonce], ["fee", amount(t.fee)], ["status", receipt ? statusTag(receipt.status) : "pending"],
    ["task", t.payload && t.payload.task_id ? task(t.payload.task_id) : null]])),
  section("Payload", pre(t.payload)),
  section("Events", table(["type", "attributes"], events.map((e) => row({}, [e.type, pre(e.attributes)])))));
}

async function renderTask(arg) {
  const t = await rpc.call("task_get", [Number(arg)]);
  S.tasks.set(t.id, t);
  const r = t.result;
  const model = S.models.find((m) => m.model_id === t.model_id);
  show(section(`Task ${t.id}`, fields([
    ["status", statusTag(t.status)], ["user", addr(t.user, S.names)], ["model", link(model ? model.name : short(t.model_id), `#/model/${t.model_id}`)],
    ["miner", addr(t.miner, S.names)], ["submitted at", block(t.submitted_height)],
    ["assigned at", t.assigned_height ? block(t.assigned_height) : null], ["deadline", t.deadline ?? null],
    ["attempts", t.attempts], ["params", JSON.stringify(t.params)], ["max fee", amount(t.max_fee)], ["fee paid", amount(t.fee_paid)],
    ["miner paid", amount(t.miner_paid)], ["validators paid", amount(t.validators_paid)], ["refunded", amount(t.refunded)],
    ["result", r ? [hash(r.tx_hash, "tx"), " at ", block(r.height), `, ${r.output_tokens.length} tokens`] : null]])),
  section("Prompt", el("p", { class: "gen" }, t.prompt)),
  section("Generated text", el("p", { class: "gen", "data-testid": "task-full-text" }, r ? r.text : "(no result yet)")),
  section("Verdicts", table(["validator", "accept", "reason", "first bad step", "evidence", "tx", "height"],
    (t.verdicts || []).map((v) => row({}, [addr(v.account, S.names), v.accept ? "✓ accept" : "✗ REJECT", v.reason, v.first_bad_step,
      v.evidence ? "yes" : "no", hash(v.tx_hash, "tx"), block(v.height)])))),
  r ? section("Receipt", pre(r.receipt)) : el("span"));
}

async function renderAccount(a) {
  const [acct, stake, miner] = await rpc.batch([["state_getAccount", [a]], ["staking_getStake", [a]], ["registry_miner", [a]]]);
  if (!acct) throw new Error("not a valid address");
  const v = S.validators.find((x) => x.account === a);
  const u = lastEpochOf(a);
  const mine = [...S.tasks.values()].filter((t) => t.user === a || t.miner === a).sort((x, y) => y.id - x.id);
  show(section(`Account ${S.names.get(a) || ""}`, fields([
    ["address", a], ["balance", amount(acct.balance)], ["nonce", acct.nonce],
    ["validator stake", stake ? amount(stake.validator) : "—"], ["miner stake", stake ? amount(stake.miner) : "—"],
    ["validator", v ? `${v.name} (${v.active ? "active" : "inactive"})` : "no"],
    ["miner", miner ? `uid ${miner.uid}, reliability ${share(miner.reliability)}, ${miner.completed} completed, ${miner.failed} failed` : "no"],
    ["last epoch", u ? `incentive ${share(u.incentive)}, dividends ${share(u.dividends)}, emission ${amount(u.emission)}` : "—"]])),
  section("Recent tasks (loaded)", table(["task", "status", "role", "text"],
    mine.map((t) => row({}, [task(t.id), statusTag(t.status), t.user === a ? "user" : "miner", t.result ? short(t.result.text, 60) : ""])))));
}

async function renderModel(id) {
  const m = S.models.find((x) => x.model_id === id);
  if (!m) throw new Error("not a registered model");
  const serving = S.miners.filter((x) => (x.models || []).includes(id));
  show(section(`Model ${m.name}`, fields([["id", m.model_id], ["architecture", m.architecture], ["price per token", amount(m.price_per_token)],
    ["context limit", m.context_limit], ["registered by", addr(m.registered_by, S.names)], ["registered at", block(m.registered_height)]])),
  section("Miners serving it", table(["account", "stake", "reliability"], serving.map((x) => row({}, [addr(x.account, S.names), amount(x.stake), share(x.reliability)])))));
}
