#include "workers/task_view.hpp"

namespace ig::workers {
namespace {

using json = nlohmann::json;

Expected<std::string> json_string(const json& obj, const char* key, const char* what) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string())
    return fail("rpc.bad_reply", std::string(what) + ": field '" + key + "' missing or not a string");
  return obj[key].get<std::string>();
}

}  // namespace

Expected<uint64_t> json_uint(const json& obj, const char* key, const char* what) {
  if (!obj.is_object() || !obj.contains(key))
    return fail("rpc.bad_reply", std::string(what) + ": field '" + key + "' missing");
  const json& v = obj[key];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  if (v.is_string()) {  // amounts and seeds travel as decimal strings (they may exceed 2^53)
    const std::string& s = v.get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 20 && s.find_first_not_of("0123456789") == std::string::npos) {
      uint64_t out = 0;
      bool overflow = false;
      for (char c : s) {
        const uint64_t d = static_cast<uint64_t>(c - '0');
        if (out > (UINT64_MAX - d) / 10) overflow = true;
        out = out * 10 + d;
      }
      if (!overflow) return out;
    }
  }
  return fail("rpc.bad_reply", std::string(what) + ": field '" + key + "' is not an unsigned integer");
}

Expected<SamplingParams> parse_sampling(const json& j) {
  SamplingParams p;
  IG_TRY_ASSIGN(max_tokens, json_uint(j, "max_tokens", "task params"));
  IG_TRY_ASSIGN(temperature, json_uint(j, "temperature_milli", "task params"));
  IG_TRY_ASSIGN(top_k, json_uint(j, "top_k", "task params"));
  IG_TRY_ASSIGN(top_p, json_uint(j, "top_p_milli", "task params"));
  IG_TRY_ASSIGN(seed, json_uint(j, "seed", "task params"));
  if (max_tokens > UINT32_MAX || temperature > UINT32_MAX || top_k > UINT32_MAX || top_p > UINT32_MAX)
    return fail("rpc.bad_reply", "task params out of range");
  p.max_tokens = static_cast<uint32_t>(max_tokens);
  p.temperature_milli = static_cast<uint32_t>(temperature);
  p.top_k = static_cast<uint32_t>(top_k);
  p.top_p_milli = static_cast<uint32_t>(top_p);
  p.seed = seed;
  return p;
}

Expected<TaskView> parse_task(const json& j) {
  TaskView t;
  IG_TRY_ASSIGN(id, json_uint(j, "id", "task"));
  IG_TRY_ASSIGN(status, json_string(j, "status", "task"));
  IG_TRY_ASSIGN(user, json_string(j, "user", "task"));
  IG_TRY_ASSIGN(model, json_string(j, "model_id", "task"));
  IG_TRY_ASSIGN(prompt, json_string(j, "prompt", "task"));
  if (!j.contains("params")) return fail("rpc.bad_reply", "task: field 'params' missing");
  IG_TRY_ASSIGN(params, parse_sampling(j["params"]));
  t.id = id;
  t.status = status;
  t.user = user;
  t.model_id = model;
  t.prompt = prompt;
  t.params = params;
  if (j.contains("miner")) {
    IG_TRY_ASSIGN(miner, json_string(j, "miner", "task"));
    t.miner = miner;
    IG_TRY_ASSIGN(assigned, json_uint(j, "assigned_height", "task"));
    IG_TRY_ASSIGN(deadline, json_uint(j, "deadline", "task"));
    t.assigned_height = assigned;
    t.deadline = deadline;
  }
  if (j.contains("result") && j["result"].is_object()) {
    const json& r = j["result"];
    IG_TRY_ASSIGN(height, json_uint(r, "height", "task result"));
    t.result_height = height;
    if (r.contains("tx_hash")) {
      IG_TRY_ASSIGN(tx, json_string(r, "tx_hash", "task result"));
      t.result_tx = tx;
    }
  }
  return t;
}

}  // namespace ig::workers
