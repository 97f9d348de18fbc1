// Inference tasks: task submit / show / list / cancel, and validators' verdicts.
#include <iostream>
#include <memory>
#include <thread>

#include "wallet/cli/task_follow.hpp"
#include "wallet/cli/tx_path.hpp"
#include "wallet/parse.hpp"
#include "wallet/payload_args.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet::cli {
namespace {

struct SubmitArgs {
  TxOptions tx;
  std::string model, prompt, prompt_file, max_tokens, temperature = "0", top_k = "0", top_p = "1", seed = "0", max_fee;
  int wait_timeout_s = 300;
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
  std::string task, first_bad_step, reason, evidence_file;
  bool accept = false, reject = false;
};

Expected<std::string> prompt_of(const SubmitArgs& a) {
  if (a.prompt.empty() == a.prompt_file.empty()) return fail("arg.missing", "give exactly one of --prompt and --prompt-file");
  if (!a.prompt.empty()) return a.prompt;
  auto text = read_small_file(a.prompt_file, chain::kMaxPromptBytes);
  if (!text) return fail("arg.prompt_file", "cannot read " + a.prompt_file + ": " + text.error().message);
  if (text->empty()) return fail("arg.invalid", a.prompt_file + " is empty");
  return *text;
}

// The registered model `name_or_id` names: 64 hex digits are an id, anything else a name
// (registry_models). A name two models share is ambiguous: the id must be given.
struct ModelChoice {
  chain::Hash id{};
  std::optional<chain::Amount> price_per_token;  // known when the node was asked
};

Expected<ModelChoice> resolve_model(TxContext& ctx, const std::string& name_or_id, bool need_price) {
  auto id = parse_model_id(name_or_id);
  if (id && !need_price) return ModelChoice{*id, std::nullopt};
  IG_TRY_ASSIGN(node, ctx.node(id ? "the model's price (give --max-fee)" : "the model named \"" + name_or_id + "\" (give its id)"));
  IG_TRY_ASSIGN(models, node->models());
  std::vector<const json*> found;
  for (const auto& m : models)
    if (id ? m["model_id"].get<std::string>() == chain::to_hex(*id) : m["name"].get<std::string>() == name_or_id) found.push_back(&m);
  if (found.empty())
    return fail("task.unknown_model", (id ? "model " + name_or_id + " is not registered" : "no model named \"" + name_or_id + "\" is registered") +
                                          " (infergrid-wallet models lists them)");
  if (found.size() > 1) {
    std::string ids;
    for (const json* m : found) ids += " " + (*m)["model_id"].get<std::string>();
    return fail("arg.ambiguous", std::to_string(found.size()) + " models are named \"" + name_or_id + "\"; give one id:" + ids);
  }
  auto model_id = chain::from_hex_fixed<32>((*found[0])["model_id"].get<std::string>());
  if (!model_id) return fail("rpc.bad_reply", "malformed reply from node to registry_models: a model_id is not 64 hex digits");
  auto price = parse_amount((*found[0]).at("price_per_token").is_string() ? (*found[0])["price_per_token"].get<std::string>()
                                                                          : (*found[0])["price_per_token"].dump());
  if (!price) return fail("rpc.bad_reply", "malformed reply from node to registry_models: price_per_token is not an amount");
  return ModelChoice{*model_id, *price};
}

Expected<chain::Payload> submit_payload(TxContext& ctx, const SubmitArgs& a) {
  chain::SubmitTask t;
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
  if (auto why = ig::sampling_params_problem(t.params)) return fail("arg.invalid", *why);
  if (!a.max_fee.empty()) {
    IG_TRY_ASSIGN(max_fee, parse_amount(a.max_fee, "--max-fee"));
    if (max_fee == 0) return fail("arg.invalid", "--max-fee must be positive");
    t.max_fee = max_fee;
  }
  // The model last: it may need the node, and a typo above should not.
  IG_TRY_ASSIGN(model, resolve_model(ctx, a.model, a.max_fee.empty()));
  t.model_id = model.id;
  if (a.max_fee.empty()) {
    // The most the task can cost: every token it may produce at the model's price.
    auto worst = chain::checked_mul(*model.price_per_token, chain::Amount{max_tokens});
    if (!worst) return fail("arg.invalid", "price_per_token x --max-tokens does not fit in an amount");
    t.max_fee = *worst;
  }
  return chain::Payload{t};
}

// Tasks come checked from NodeClient (task, task_list); see node_client.hpp for the fields.
std::string miner_text(const json& task, const std::string& before, const std::string& after) {
  return task.contains("miner") ? before + task["miner"].get<std::string>() + after : std::string();
}

Expected<Output> run_submit(const Globals& g, const SubmitArgs& a) {
  if (a.wait_timeout_s < 1 || a.wait_timeout_s > 86400) return fail("arg.invalid", "--wait-timeout must be within 1..86400 seconds");
  SendRequest req;
  req.build = [&a](TxContext& ctx) { return submit_payload(ctx, a); };
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
    IG_TRY(follow_task(g, node, *id, std::chrono::seconds(a.wait_timeout_s), out));
  }
  return out;
}

Expected<Output> run_show(const Globals& g, const std::string& id_text) {
  IG_TRY_ASSIGN(id, parse_u64(id_text, "task id"));
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(t, node.task(id));
  Output out;
  out.data = t;
  json shown = t;
  shown.erase("result");
  shown.erase("verdicts");
  out.text = fields_text(shown);
  if (t.contains("result")) {
    json result = t["result"];
    result.erase("text");
    result.erase("receipt");
    out.text += fields_text(result, "result.");
    if (t["result"].contains("receipt")) out.text += fields_text(t["result"]["receipt"], "result.receipt.");
  }
  // What a person asked the task for comes last, where it is easy to read.
  out.text += "\n" + task_summary_text(t);
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
  if (!a.reason.empty()) IG_TRY(validate_reason(a.reason));
  v.reason = a.reason;
  if (a.accept) {
    if (!a.first_bad_step.empty() || !a.evidence_file.empty())
      return fail("arg.conflict", "--first-bad-step and --evidence-file belong to --reject");
    return chain::Payload{v};
  }
  if (a.reason.empty()) return fail("arg.missing", "--reject needs --reason CODE (e.g. verify.token_mismatch)");
  if (!a.evidence_file.empty()) {
    auto text = read_small_file(a.evidence_file, 64 << 10);
    if (!text) return fail("arg.evidence_file", "cannot read " + a.evidence_file + ": " + text.error().message);
    IG_TRY_ASSIGN(evidence, parse_step_evidence(*text));
    v.evidence = evidence;
    if (evidence.proof.index > UINT32_MAX) return fail("arg.bad_evidence", "step evidence: proof.index is beyond any output");
    v.first_bad_step = static_cast<uint32_t>(evidence.proof.index);
  } else if (v.reason != chain::kReasonTextMismatch && v.reason != chain::kReasonStopRule) {
    return fail("arg.missing", "a reject for " + v.reason + " needs --evidence-file; only " + std::string(chain::kReasonTextMismatch) +
                                   " and " + std::string(chain::kReasonStopRule) + " may come without (the chain refuses others)");
  }
  if (!a.first_bad_step.empty()) {
    IG_TRY_ASSIGN(step, parse_u32(a.first_bad_step, "--first-bad-step"));
    if (v.evidence && step != v.first_bad_step)
      return fail("arg.conflict", "--first-bad-step " + std::to_string(step) + " is not the evidence's step " +
                                      std::to_string(v.first_bad_step) + " (proof.index)");
    v.first_bad_step = step;
  }
  return chain::Payload{v};
}

void add_submit(CLI::App* task, const Globals& g, Action& chosen) {
  auto a = std::make_shared<SubmitArgs>();
  auto* cmd = task->add_subcommand("submit",
                                   "Submit an inference task; prints its id (with --wait, follows it to its end and prints the text)");
  cmd->add_option("--model", a->model, "Model: its registered name, or its id (64 hex digits)")->required();
  cmd->add_option("--prompt", a->prompt, "Prompt text");
  cmd->add_option("--prompt-file", a->prompt_file, "Read the prompt from FILE instead");
  cmd->add_option("--max-tokens", a->max_tokens, "Most output tokens")->required();
  cmd->add_option("--temperature", a->temperature, "Sampling temperature, decimal, 0 = greedy (stored in thousandths)")->capture_default_str();
  cmd->add_option("--top-k", a->top_k, "Top-k, 0 = off")->capture_default_str();
  cmd->add_option("--top-p", a->top_p, "Top-p within (0, 1], 1 = off (stored in thousandths)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--max-fee", a->max_fee,
                  "Escrow in base units; what the tokens do not use is refunded (default: the model's price x --max-tokens)");
  cmd->add_option("--wait-timeout", a->wait_timeout_s, "With --wait: follow the task at most this many seconds")->capture_default_str();
  add_tx_options(cmd, a->tx);
  cmd->get_option("--wait")->description(
      "Follow the task: one line per stage (assigned, result, each verdict, settled/rejected/expired), then the text, "
      "miner, verdicts and fee");
  cmd->callback([&, a] { chosen = [&g, a] { return run_submit(g, *a); }; });
}

}  // namespace

void add_task_commands(CLI::App& app, const Globals& g, Action& chosen) {
  auto* task = app.add_subcommand("task", "Inference tasks: submit, show, list, cancel");
  task->require_subcommand(1);
  add_submit(task, g, chosen);

  auto sa = std::make_shared<TaskIdArgs>();
  auto* show = task->add_subcommand("show", "Show a task: status, miner, result, verdicts, fee and the generated text");
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
  verdict->add_flag("--reject", va->reject, "The result is wrong (needs --reason, and --evidence-file unless the reason is "
                                            "verify.text_mismatch or verify.stop_rule)");
  verdict->add_option("--reason", va->reason, "Reason code, a-z 0-9 . _ (e.g. verify.token_mismatch); required with --reject");
  verdict->add_option("--evidence-file", va->evidence_file,
                      "JSON step evidence {\"claimed\", \"proof\", \"recomputed\"} (see docs/wallet.md); sets the bad step");
  verdict->add_option("--first-bad-step", va->first_bad_step,
                      "First output step that does not verify (default: the evidence's step, else 0)");
  add_tx_options(verdict, va->tx);
  verdict->callback([&, va] {
    chosen = [&g, va] { return send_and_report(g, va->tx, [va](TxContext&) { return verdict_payload(*va); }); };
  });
}

}  // namespace ig::wallet::cli
