#include "wallet/cli/task_follow.hpp"

#include <iostream>
#include <set>
#include <thread>

namespace ig::wallet::cli {
namespace {

// "key:   value", values aligned in the wallet's one column.
std::string line(const std::string& key, const std::string& value) {
  const std::string k = key + ":";
  return k + std::string(k.size() < 18 ? 18 - k.size() : 1, ' ') + value + "\n";
}

bool final_status(const std::string& s) { return s == "settled" || s == "expired" || s == "rejected" || s == "cancelled"; }

// Amounts come as decimal strings (checked by NodeClient::task); absent ones read as "0".
std::string amount_text(const json& t, const char* key) {
  if (!t.contains(key)) return "0";
  return t[key].is_string() ? t[key].get<std::string>() : t[key].dump();
}

std::string verdict_text(const json& v) {
  std::string s = v["account"].get<std::string>() + (v["accept"].get<bool>() ? " accept" : " reject");
  if (!v["reason"].get<std::string>().empty()) s += " " + v["reason"].get<std::string>();
  // The step means something when evidence proves it (or a verifier named one without).
  const bool evidence = v.contains("evidence") && v["evidence"].is_boolean() && v["evidence"].get<bool>();
  if (!v["accept"].get<bool>() && (evidence || v["first_bad_step"].get<uint64_t>() != 0))
    s += " at step " + std::to_string(v["first_bad_step"].get<uint64_t>());
  return s;
}

json verdict_json(const json& v) {
  return {{"validator", v["account"]}, {"accept", v["accept"]}, {"reason", v["reason"]}, {"first_bad_step", v["first_bad_step"]}};
}

// What the follower has already reported, so each stage is reported once even when several
// happened between two polls (the stages come from the task record, not from the polls).
struct Seen {
  std::set<std::string> tried;
  std::string miner;
  bool result = false;
  size_t verdicts = 0;
  std::string status;
};

// The stages `t` shows beyond `seen`, in the order they happened; updates `seen`.
std::vector<std::pair<std::string, json>> new_stages(const json& t, Seen& seen) {
  std::vector<std::pair<std::string, json>> out;
  if (t.contains("tried"))
    for (const auto& a : t["tried"])
      if (seen.tried.insert(a.get<std::string>()).second) {
        if (seen.miner != a.get<std::string>())  // assigned and timed out between two polls
          out.emplace_back(line("assigned", "miner " + a.get<std::string>()), json{{"stage", "assigned"}, {"miner", a}});
        out.emplace_back(line("timeout", "miner " + a.get<std::string>() + " missed its deadline; the task goes back to the queue"),
                         json{{"stage", "timeout"}, {"miner", a}});
        seen.miner.clear();
      }
  const std::string status = t["status"].get<std::string>();
  if (t.contains("miner") && t["miner"].get<std::string>() != seen.miner) {
    seen.miner = t["miner"].get<std::string>();
    std::string where;
    json stage = {{"stage", "assigned"}, {"miner", seen.miner}};
    if (t.contains("assigned_height") && t.contains("deadline")) {
      where = " at height " + std::to_string(t["assigned_height"].get<uint64_t>()) + ", result due by height " +
              std::to_string(t["deadline"].get<uint64_t>());
      stage["height"] = t["assigned_height"];
      stage["deadline"] = t["deadline"];
    }
    out.emplace_back(line("assigned", "miner " + seen.miner + where), stage);
  }
  if (t.contains("result") && !seen.result) {
    seen.result = true;
    const json& r = t["result"];
    json stage = {{"stage", "result"},
                  {"tokens", r["output_tokens"].size()},
                  {"height", r["height"]},
                  {"window_end", r["window_end"]}};
    if (r.contains("tx_hash")) stage["tx_hash"] = r["tx_hash"];
    out.emplace_back(line("result", std::to_string(r["output_tokens"].size()) + " tokens at height " +
                                        std::to_string(r["height"].get<uint64_t>()) + "; verification until height " +
                                        std::to_string(r["window_end"].get<uint64_t>())),
                     stage);
  }
  const json& verdicts = t["verdicts"];
  for (; seen.verdicts < verdicts.size(); ++seen.verdicts) {
    json stage = verdict_json(verdicts[seen.verdicts]);
    stage["stage"] = "verdict";
    out.emplace_back(line("verdict", verdict_text(verdicts[seen.verdicts])), stage);
  }
  if (status != seen.status && final_status(status)) {
    json stage = {{"stage", status}, {"refunded", amount_text(t, "refunded")}};
    std::string text;
    if (status == "settled") {
      stage["fee_paid"] = amount_text(t, "fee_paid");
      stage["miner_paid"] = amount_text(t, "miner_paid");
      stage["validators_paid"] = amount_text(t, "validators_paid");
      text = "fee paid " + amount_text(t, "fee_paid") + " (miner " + amount_text(t, "miner_paid") + ", validators " +
             amount_text(t, "validators_paid") + "), refunded " + amount_text(t, "refunded");
    } else if (status == "rejected") {
      text = "the result was proven wrong; miner " + seen.miner + " is slashed, refunded " + amount_text(t, "refunded");
    } else {
      text = "refunded " + amount_text(t, "refunded");
    }
    out.emplace_back(line(status, text), stage);
  }
  seen.status = status;
  return out;
}

}  // namespace

std::string task_summary_text(const json& t) {
  std::string s = line("status", t["status"].get<std::string>());
  if (t.contains("miner")) s += line("miner", t["miner"].get<std::string>());
  if (t["verdicts"].empty()) s += line("verdicts", "(none)");
  for (const auto& v : t["verdicts"]) s += line("verdict", verdict_text(v));
  s += line("fee paid", amount_text(t, "fee_paid"));
  s += line("refunded", amount_text(t, "refunded"));
  if (t.contains("result")) s += line("text", t["result"]["text"].get<std::string>());
  return s;
}

Status follow_task(const Globals& g, NodeClient& node, uint64_t id, std::chrono::milliseconds limit, Output& out) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  json transitions = json::array(), stages = json::array();
  Seen seen;
  json t;
  for (;;) {
    IG_TRY_ASSIGN(now, node.task(id));
    t = std::move(now);
    const std::string status = t["status"].get<std::string>();
    if (transitions.empty() || transitions.back() != status) transitions.push_back(status);
    for (auto& [text, stage] : new_stages(t, seen)) {
      stages.push_back(std::move(stage));
      if (g.json) {
        out.text += text;
      } else {
        std::cout << text << std::flush;  // people watch the stages as they happen
      }
    }
    if (final_status(status)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      // The task exists and its id was printed; say how far it got rather than drop the output.
      out.exit_code = kExitFailure;
      out.error = "task " + std::to_string(id) + " is still " + status + " after " +
                  std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) + " s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  json verdicts = json::array();
  for (const auto& v : t["verdicts"]) verdicts.push_back(verdict_json(v));
  out.data["transitions"] = transitions;
  out.data["stages"] = stages;
  out.data["status"] = t["status"];
  out.data["miner"] = t.contains("miner") ? t["miner"] : json(nullptr);
  out.data["text"] = t.contains("result") ? t["result"]["text"] : json(nullptr);
  out.data["verdicts"] = verdicts;
  out.data["fee_paid"] = amount_text(t, "fee_paid");
  out.data["refunded"] = amount_text(t, "refunded");
  out.data["task"] = t;
  out.text += "\n" + task_summary_text(t);
  return {};
}

}  // namespace ig::wallet::cli
