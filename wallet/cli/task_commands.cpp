// Inference tasks: task submit / show / list / cancel, and validators' verdicts.
#include <iostream>
#include <memory>
#include <thread>

#include "wallet/cli/tx_path.hpp"
#include "wallet/parse.hpp"
#include "wallet/payload_args.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet::cli {
namespace {

struct SubmitArgs {
  TxOptions tx;
  std::string model, prompt, prompt_file, max_tokens, temperature = "0", top_k = "0", top_p = "1", seed = "0", max_fee;
};

struct TaskIdArgs {
  TxOptions tx;
  std::string id;
};

struct ListArgs {
  std::string from = "1", limit = "100";
};

struct VerdictArgs {
  TxOptions tx;
  std::string task, first_bad_step, evidence_file;
  bool accept = false, reject = false;
};

bool final_status(const std::string& s) { return s == "settled" || s == "expired" || s == "rejected" || s == "cancelled"; }

Expected<std::string> prompt_of(const SubmitArgs& a) {
  if (a.prompt.empty() == a.prompt_file.empty()) return fail("arg.missing", "give exactly one of --prompt and --prompt-file");
  if (!a.prompt.empty()) return a.prompt;
  auto text = read_small_file(a.prompt_file, chain::kMaxPromptBytes);
  if (!text) return fail("arg.prompt_file", "cannot read " + a.prompt_file + ": " + text.error().message);
  if (text->empty()) return fail("arg.invalid", a.prompt_file + " is empty");
  return *text;
}

Expected<chain::Payload> submit_payload(const SubmitArgs& a) {
  chain::SubmitTask t;
  IG_TRY_ASSIGN(model, parse_model_id(a.model));
  t.model_id = model;
  IG_TRY_ASSIGN(prompt, prompt_of(a));
  t.prompt = prompt;
  IG_TRY_ASSIGN(max_tokens, parse_u32(a.max_tokens, "--max-tokens"));
  if (max_tokens == 0 || max_tokens > chain::kMaxOutputTokens)
    return fail("arg.invalid", "--max-tokens must be within 1.." + std::to_string(chain::kMaxOutputTokens));
  t.params.max_tokens = max_tokens;
  IG_TRY_ASSIGN(temperature, parse_milli(a.temperature, "--temperature"));
  IG_TRY_ASSIGN(top_k, parse_u32(a.top_k, "--top-k"));
  IG_TRY_ASSIGN(top_p, parse_top_p(a.top_p));
  IG_TRY_ASSIGN(seed, parse_u64(a.seed, "--seed"));
  t.params.temperature_milli = temperature;
  t.params.top_k = top_k;
  t.params.top_p_milli = top_p;
  t.params.seed = seed;
  IG_TRY_ASSIGN(max_fee, parse_amount(a.max_fee, "--max-fee"));
  if (max_fee == 0) return fail("arg.invalid", "--max-fee must be positive");
  t.max_fee = max_fee;
  return chain::Payload{t};
}

// Tasks come checked from NodeClient (task, task_list): "id", "status", "user", and "miner"
// and "result.output_tokens" when present, with their types.
Expected<json> get_task(NodeClient& node, uint64_t id) { return node.task(id); }

std::string miner_text(const json& task, const std::string& before, const std::string& after) {
  return task.contains("miner") ? before + task["miner"].get<std::string>() + after : std::string();
}

std::string tokens_text(const json& task) {
  if (!task.contains("result")) return "";
  return "output tokens:    " + task["result"]["output_tokens"].dump() + "\n";
}

// Polls the task until it reaches a final status or carries a result, noting each status seen.
Expected<json> follow_task(const Globals& g, NodeClient& node, uint64_t id, Output& out) {
  const auto deadline = std::chrono::steady_clock::now() + g.timeout();
  json transitions = json::array();
  std::string last;
  for (;;) {
    IG_TRY_ASSIGN(t, get_task(node, id));
    const std::string status = t["status"].get<std::string>();
    if (status != last) {
      transitions.push_back(status);
      const std::string line = "status:           " + status + miner_text(t, " (miner ", ")") + "\n";
      // People watch the transitions as they happen; --json gets them all at the end.
      if (g.json) {
        out.text += line;
      } else {
        std::cout << line << std::flush;
      }
      last = status;
    }
    if (final_status(status) || t.contains("result")) {
      out.data["transitions"] = transitions;
      out.data["task"] = t;
      out.text += tokens_text(t);
      return t;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      // The task exists and its id was printed; say how far it got rather than drop the output.
      out.data["transitions"] = transitions;
      out.data["task"] = t;
      out.exit_code = kExitFailure;
      out.error = "task " + std::to_string(id) + " is still " + status + " after " + std::to_string(g.timeout_s) + " s";
      return t;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

Expected<Output> run_submit(const Globals& g, const SubmitArgs& a) {
  SendRequest req;
  req.build = [&a](TxContext&) { return submit_payload(a); };
  req.need_receipt = true;  // the task id is in the receipt
  IG_TRY_ASSIGN(sent, send_payload(g, a.tx, req));
  Output out = sent.out;
  if (a.tx.offline || out.exit_code != kExitOk) return out;
  auto id_text = event_attribute(sent.receipt, "task_submitted", "task");
  if (!id_text) return fail("rpc.bad_reply", "malformed reply from node to tx_receipt: no task_submitted event with a task id");
  auto id = parse_u64(*id_text, "task id");
  if (!id) return fail("rpc.bad_reply", "malformed reply from node to tx_receipt: the task id is malformed: " + id.error().message);
  out.data["task_id"] = *id;
  out.text += "task:             " + std::to_string(*id) + "\n";
  if (a.tx.wait) {
    if (!g.json) {
      std::cout << out.text << std::flush;
      out.text.clear();
    }
    IG_TRY_ASSIGN(node, connect(g));
    IG_TRY(follow_task(g, node, *id, out));
  }
  return out;
}

Expected<Output> run_show(const Globals& g, const std::string& id_text) {
  IG_TRY_ASSIGN(id, parse_u64(id_text, "task id"));
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(t, get_task(node, id));
  Output out;
  out.data = t;
  json shown = t;
  shown.erase("result");
  out.text = fields_text(shown);
  if (t.contains("result")) out.text += fields_text(t["result"], "result.");
  return out;
}

Expected<Output> run_list(const Globals& g, const ListArgs& a) {
  IG_TRY_ASSIGN(from, parse_u64(a.from, "--from"));
  IG_TRY_ASSIGN(limit, parse_u64(a.limit, "--limit"));
  if (limit == 0 || limit > 1000) return fail("arg.invalid", "--limit must be within 1..1000");
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(r, node.task_list(from, limit));
  Output out;
  out.data = {{"tasks", r}};
  if (r.empty()) out.text = "(none)\n";
  for (const auto& t : r)
    out.text += "task " + std::to_string(t["id"].get<uint64_t>()) + "  " + t["status"].get<std::string>() + "  user " +
                t["user"].get<std::string>() + miner_text(t, "  miner ", "") + "\n";
  return out;
}

Expected<chain::Payload> verdict_payload(const VerdictArgs& a) {
  if (a.accept == a.reject) return fail("arg.missing", "give exactly one of --accept and --reject");
  chain::Verdict v;
  IG_TRY_ASSIGN(task, parse_u64(a.task, "--task"));
  v.task_id = task;
  v.accept = a.accept;
  if (a.accept && !a.first_bad_step.empty()) return fail("arg.conflict", "--first-bad-step belongs to --reject");
  if (a.reject) {
    if (a.first_bad_step.empty()) return fail("arg.missing", "--reject needs --first-bad-step K");
    IG_TRY_ASSIGN(step, parse_u32(a.first_bad_step, "--first-bad-step"));
    v.first_bad_step = step;
  }
  if (!a.evidence_file.empty()) {
    auto bytes = read_small_file(a.evidence_file, chain::kMaxEvidenceBytes);
    if (!bytes) return fail("arg.evidence_file", "cannot read " + a.evidence_file + ": " + bytes.error().message);
    v.evidence.assign(bytes->begin(), bytes->end());
  }
  return chain::Payload{v};
}

void add_submit(CLI::App* task, const Globals& g, Action& chosen) {
  auto a = std::make_shared<SubmitArgs>();
  auto* cmd = task->add_subcommand("submit", "Submit an inference task; prints its id (with --wait, follows it to a result)");
  cmd->add_option("--model", a->model, "Model id (64 hex digits)")->required();
  cmd->add_option("--prompt", a->prompt, "Prompt text");
  cmd->add_option("--prompt-file", a->prompt_file, "Read the prompt from FILE instead");
  cmd->add_option("--max-tokens", a->max_tokens, "Most output tokens")->required();
  cmd->add_option("--temperature", a->temperature, "Sampling temperature, decimal, 0 = greedy (stored in thousandths)")->capture_default_str();
  cmd->add_option("--top-k", a->top_k, "Top-k, 0 = off")->capture_default_str();
  cmd->add_option("--top-p", a->top_p, "Top-p within (0, 1], 1 = off (stored in thousandths)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--max-fee", a->max_fee, "Escrow in base units; what the tokens do not use is refunded")->required();
  add_tx_options(cmd, a->tx);
  cmd->callback([&, a] { chosen = [&g, a] { return run_submit(g, *a); }; });
}

}  // namespace

void add_task_commands(CLI::App& app, const Globals& g, Action& chosen) {
  auto* task = app.add_subcommand("task", "Inference tasks: submit, show, list, cancel");
  task->require_subcommand(1);
  add_submit(task, g, chosen);

  auto sa = std::make_shared<TaskIdArgs>();
  auto* show = task->add_subcommand("show", "Show a task: status, miner, result");
  show->add_option("id", sa->id, "Task id")->required();
  show->callback([&, sa] { chosen = [&g, sa] { return run_show(g, sa->id); }; });

  auto la = std::make_shared<ListArgs>();
  auto* list = task->add_subcommand("list", "List tasks by id");
  list->add_option("--from", la->from, "First task id")->capture_default_str();
  list->add_option("--limit", la->limit, "How many (1..1000)")->capture_default_str();
  list->callback([&, la] { chosen = [&g, la] { return run_list(g, *la); }; });

  auto ca = std::make_shared<TaskIdArgs>();
  auto* cancel = task->add_subcommand("cancel", "Cancel a task that is still pending (refunds the escrow)");
  cancel->add_option("id", ca->id, "Task id")->required();
  add_tx_options(cancel, ca->tx);
  cancel->callback([&, ca] {
    chosen = [&g, ca] {
      return send_and_report(g, ca->tx, [ca](TxContext&) -> Expected<chain::Payload> {
        IG_TRY_ASSIGN(id, parse_u64(ca->id, "task id"));
        return chain::Payload{chain::CancelTask{id}};
      });
    };
  });

  auto va = std::make_shared<VerdictArgs>();
  auto* verdict = app.add_subcommand("verdict", "Judge a task's result (validators, during its verification window)");
  verdict->add_option("--task", va->task, "Task id")->required();
  verdict->add_flag("--accept", va->accept, "The result is correct");
  verdict->add_flag("--reject", va->reject, "The result is wrong from --first-bad-step on");
  verdict->add_option("--first-bad-step", va->first_bad_step, "First output step that does not verify (with --reject)");
  verdict->add_option("--evidence-file", va->evidence_file, "Evidence bytes (at most 4096), e.g. a fingerprint proof");
  add_tx_options(verdict, va->tx);
  verdict->callback([&, va] {
    chosen = [&g, va] { return send_and_report(g, va->tx, [va](TxContext&) { return verdict_payload(*va); }); };
  });
}

}  // namespace ig::wallet::cli
