#include "node/devnet_report.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "workers/task_view.hpp"

namespace ig::node {
namespace {

using json = nlohmann::json;
using workers::json_uint;

bool is_final(const std::string& status) {
  return status == "settled" || status == "rejected" || status == "expired" || status == "cancelled";
}

uint64_t amount_of(const json& obj, const char* key) {
  auto v = json_uint(obj, key, "amount");
  return v ? *v : 0;
}

std::string first_words(const std::string& text, size_t max_chars = 48) {
  std::string flat;
  for (char c : text) flat += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (flat.size() <= max_chars) return flat;
  size_t cut = flat.rfind(' ', max_chars);
  if (cut == std::string::npos || cut < max_chars / 2) cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(flat[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
  return flat.substr(0, cut) + "…";
}

std::string share(uint64_t u16) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.3f", double(u16) / 65535.0);
  return buf;
}

}  // namespace

std::string DevnetReport::who(const std::string& address) const {
  auto it = names_.find(address);
  return it != names_.end() ? it->second : address.substr(0, 12) + "…";
}

Status DevnetReport::check_supply(rpc::Client& node, uint64_t height) {
  IG_TRY_ASSIGN(supply, node.call("bank_supply", json::array()));
  ++supply_blocks_;
  if (supply.value("supply", json("")) != supply.value("balances_total", json("-"))) {
    supply_mismatches_.push_back(height);
    std::cout << "   [" << height << "] SUPPLY MISMATCH: " << supply.dump() << std::endl;
  }
  return {};
}

void DevnetReport::add_task(uint64_t id, std::string prompt, bool sampled) {
  if (tasks_.empty()) first_task_ = std::chrono::steady_clock::now();
  tasks_[id] = Task{id, std::move(prompt), sampled, "pending"};
  std::cout << "   task " << id << " submitted (" << (sampled ? "sampled" : "greedy") << "): \"" << tasks_[id].prompt
            << "\"" << std::endl;
}

void DevnetReport::on_event(const json& e) {
  const std::string type = e.value("type", "");
  const json a = e.value("attributes", json::object());
  const std::string height = std::to_string(e.value("height", uint64_t{0}));
  auto task_id = json_uint(a, "task", "event");
  auto line = [&](const std::string& text) { std::cout << "   [" << height << "] " << text << std::endl; };
  if (task_id && tasks_.count(*task_id)) {
    Task& t = tasks_[*task_id];
    const std::string id = "task " + std::to_string(*task_id);
    if (type == "task_assigned") {
      t.status = "assigned";
      line(id + " assigned to " + who(a.value("miner", "")));
    } else if (type == "task_result") {
      t.status = "submitted";
      line(id + " result from " + who(a.value("miner", "")) + ": " + a.value("tokens", "?") + " tokens");
    } else if (type == "verdict") {
      const bool accept = a.value("accept", "") == "true";
      line(id + " verdict by " + who(a.value("validator", "")) + ": " +
           (accept ? std::string("accept") : "REJECT at step " + a.value("first_bad_step", "?") + " (" + a.value("reason", "") + ")"));
    } else if (type == "task_settled") {
      t.status = "settled";
      line(id + " settled: " + who(a.value("miner", "")) + " paid " + a.value("miner_paid", "?") + " of fee " +
           a.value("fee_paid", "?"));
    } else if (type == "task_rejected") {
      t.status = "rejected";
      line(id + " rejected by the validators: the user is refunded");
    } else if (type == "task_timeout") {
      line(id + " missed its deadline (" + who(a.value("miner", "")) + "); it goes to another miner");
    } else if (type == "task_expired") {
      t.status = "expired";
      line(id + " expired: the user is refunded");
    }
    return;
  }
  if (type == "slash") {
    line("SLASH " + who(a.value("account", "")) + " (" + a.value("role", "") + "): " + a.value("amount", "?") + " for " +
         a.value("reason", ""));
  } else if (type == "weights_committed" || type == "weights_revealed") {
    line(who(a.value("validator", "")) + (type == "weights_committed" ? " committed" : " revealed") + " weights (epoch " +
         a.value("epoch", "?") + ")");
  }
}

Status DevnetReport::record_epoch(rpc::Client& node) {
  IG_TRY_ASSIGN(rec, node.call("yuma_lastEpoch", json::array()));
  if (rec.is_null()) return {};
  IG_TRY_ASSIGN(epoch, json_uint(rec, "epoch", "yuma_lastEpoch"));
  if (epoch == last_epoch_) return {};
  last_epoch_ = epoch;
  json out = {{"epoch", epoch}, {"height", rec.value("height", uint64_t{0})}};
  json consensus = json::object(), incentive = json::object(), dividends = json::object(), emission = json::object();
  std::string text;
  bool honest_paid = false;
  for (const auto& u : rec.value("uids", json::array())) {
    const std::string account = u.value("account", "");
    consensus[account] = u.value("consensus", 0);
    incentive[account] = u.value("incentive", 0);
    dividends[account] = u.value("dividends", 0);
    emission[account] = u.value("emission", json("0"));
    const uint64_t inc = u.value("incentive", 0), div = u.value("dividends", 0);
    if (inc) text += " " + who(account) + " incentive " + share(inc);
    if (div) text += " " + who(account) + " dividends " + share(div);
    if (inc && honest_.count(account)) honest_paid = true;
  }
  out["consensus"] = consensus;
  out["incentive"] = incentive;
  out["dividends"] = dividends;
  out["emission"] = emission;
  epochs_.push_back(out);
  const bool all_final = std::all_of(tasks_.begin(), tasks_.end(), [](const auto& kv) { return is_final(kv.second.status); });
  if (honest_paid && (all_final || epochs_with_incentive_ > 0)) ++epochs_with_incentive_;
  std::cout << "   == epoch " << epoch << ":" << (text.empty() ? " no weights yet" : text) << std::endl;
  return {};
}

bool DevnetReport::done(unsigned epochs) {
  const bool all_final = std::all_of(tasks_.begin(), tasks_.end(), [](const auto& kv) { return is_final(kv.second.status); });
  if (all_final && all_final_ == std::chrono::steady_clock::time_point{}) all_final_ = std::chrono::steady_clock::now();
  return all_final && epochs_with_incentive_ >= epochs;
}

Status DevnetReport::snapshot_before(rpc::Client& node, const std::vector<DevnetMiner>& miners) {
  for (const auto& m : miners) {
    if (!m.cheats) honest_.insert(m.address);
    IG_TRY_ASSIGN(stake, node.call("staking_getStake", json::array({m.address})));
    IG_TRY_ASSIGN(account, node.call("state_getAccount", json::array({m.address})));
    before_[m.address] = {{"stake", amount_of(stake, "miner")}, {"balance", amount_of(account, "balance")}};
  }
  return {};
}

Status DevnetReport::finish(rpc::Client& node, const std::vector<DevnetMiner>& miners, const std::string& path) {
  json tasks = json::array();
  std::map<std::string, std::pair<int, int>> served;  // address -> (settled, rejected)
  std::cout << "\n== tasks\n";
  for (const auto& [id, t] : tasks_) {
    IG_TRY_ASSIGN(reply, node.call("task_get", json::array({id})));
    const std::string status = reply.value("status", "");
    const std::string miner = reply.value("miner", "");
    std::string verdict = "none";
    for (const auto& v : reply.value("verdicts", json::array())) {
      verdict = v.value("accept", false) ? "accept"
                                          : "reject at step " + std::to_string(v.value("first_bad_step", 0)) + " (" +
                                                v.value("reason", "") + ")";
    }
    std::string text;
    if (reply.contains("result") && reply["result"].is_object()) text = reply["result"].value("text", "");
    const uint64_t fee = amount_of(reply, "fee_paid");
    miner_paid_[miner] += amount_of(reply, "miner_paid");
    if (status == "settled") served[miner].first++;
    if (status == "rejected") served[miner].second++;
    tasks.push_back({{"id", id},
                     {"status", status},
                     {"prompt", t.prompt},
                     {"sampled", t.sampled},
                     {"miner", miner},
                     {"miner_name", who(miner)},
                     {"verdict", verdict},
                     {"text", text},
                     {"fee", std::to_string(fee)}});
    std::printf("  %3llu %-9s %-9s %-28s %-34s %s\n", static_cast<unsigned long long>(id), status.c_str(),
                who(miner).c_str(), ("\"" + first_words(t.prompt, 26) + "\"").c_str(), first_words(text, 32).c_str(),
                verdict.c_str());
  }

  json miners_json = json::array();
  std::cout << "\n== miners\n";
  for (const auto& m : miners) {
    IG_TRY_ASSIGN(stake, node.call("staking_getStake", json::array({m.address})));
    uint64_t emitted = 0;
    for (const auto& e : epochs_) {
      auto v = json_uint(e["emission"], m.address.c_str(), "emission");
      if (v) emitted += *v;
    }
    const uint64_t rewards = miner_paid_[m.address] + emitted;
    const uint64_t stake_before = before_[m.address].value("stake", uint64_t{0});
    const uint64_t stake_after = amount_of(stake, "miner");
    miners_json.push_back({{"name", m.name},
                           {"address", m.address},
                           {"cheats", m.cheats},
                           {"tasks_settled", served[m.address].first},
                           {"tasks_rejected", served[m.address].second},
                           {"stake_before", std::to_string(stake_before)},
                           {"stake_after", std::to_string(stake_after)},
                           {"task_payments", std::to_string(miner_paid_[m.address])},
                           {"emission", std::to_string(emitted)},
                           {"rewards", std::to_string(rewards)}});
    std::printf("  %-8s %s  settled %d  rejected %d  stake %llu -> %llu  rewards %llu (tasks %llu + emission %llu)%s\n",
                m.name.c_str(), (m.address.substr(0, 14) + "…").c_str(), served[m.address].first, served[m.address].second,
                static_cast<unsigned long long>(stake_before), static_cast<unsigned long long>(stake_after),
                static_cast<unsigned long long>(rewards), static_cast<unsigned long long>(miner_paid_[m.address]),
                static_cast<unsigned long long>(emitted), m.cheats ? "  [cheats]" : "");
  }

  std::cout << "\n== Yuma epochs (incentive to miners, dividends to validators; shares of 1)\n";
  for (const auto& e : epochs_) {
    std::string line;
    for (const auto& [addr, v] : e["incentive"].items())
      if (v.get<uint64_t>()) line += " " + who(addr) + " " + share(v.get<uint64_t>());
    std::string div;
    for (const auto& [addr, v] : e["dividends"].items())
      if (v.get<uint64_t>()) div += " " + who(addr) + " " + share(v.get<uint64_t>());
    std::cout << "  epoch " << e["epoch"] << ": incentive" << (line.empty() ? " none" : line) << "; dividends"
              << (div.empty() ? " none" : div) << "\n";
  }

  IG_TRY_ASSIGN(supply, node.call("bank_supply", json::array()));
  const bool supply_ok = supply.value("supply", json("")) == supply.value("balances_total", json("-")) &&
                         supply_mismatches_.empty();
  std::cout << "\n== supply: " << supply.value("supply", json("?")).get<std::string>() << " in circulation; sum of "
            << supply.value("accounts", 0) << " balances " << supply.value("balances_total", json("?")).get<std::string>()
            << "; audited at " << supply_blocks_ << " blocks, " << supply_mismatches_.size() << " mismatches"
            << (supply_ok ? "  OK" : "  MISMATCH") << "\n";

  json timing = json::object();
  if (all_final_ != std::chrono::steady_clock::time_point{}) {
    const double seconds = std::chrono::duration<double>(all_final_ - first_task_).count();
    timing = {{"tasks_final_seconds", seconds},
              {"tasks_per_minute", seconds > 0 ? double(tasks_.size()) * 60.0 / seconds : 0.0}};
    std::printf("== %zu tasks final %.1f s after the first was submitted (%.1f tasks per minute)\n", tasks_.size(), seconds,
                timing["tasks_per_minute"].get<double>());
  }
  supply["audited_blocks"] = supply_blocks_;
  supply["mismatch_heights"] = supply_mismatches_;
  json summary = {{"tasks", tasks},   {"miners", miners_json}, {"epochs", epochs_},
                  {"supply", supply}, {"supply_ok", supply_ok}, {"timing", timing}};
  if (!path.empty()) {
    std::ofstream out(path, std::ios::trunc);
    out << summary.dump(2) << "\n";
    if (!out) return fail("devnet.summary", "cannot write " + path);
    std::cout << "summary written to " << path << "\n";
  }
  return {};
}

}  // namespace ig::node
