#include "contracts/yuma/tool/check.hpp"

#include <cmath>

namespace ig::yuma::tool {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

bool ends_with_f(const std::string& field) { return field.size() > 2 && field.ends_with("_f"); }

std::string show(const ojson& v) { return v.dump(); }
std::string show(const json& v) { return v.dump(); }

bool parse_index(const std::string& key, std::size_t& out) {
  if (key.empty() || key.size() > 9) return false;
  out = 0;
  for (char c : key) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<std::size_t>(c - '0');
  }
  return true;
}

class Comparer {
 public:
  Comparer(double tol, CheckReport& report) : tol_(tol), report_(report) {}

  void compare(const json& want, const ojson& got, const std::string& path, bool is_float) {
    if (want.is_object()) return compare_keyed(want, got, path, is_float);
    if (want.is_array()) return compare_list(want, got, path, is_float);
    ++report_.facts;
    if (!leaf_equal(want, got, is_float))
      mismatch(path, "expected " + show(want) + ", got " + show(got));
  }

 private:
  void mismatch(const std::string& path, const std::string& what) {
    report_.mismatches.push_back(path + ": " + what);
  }

  void compare_keyed(const json& want, const ojson& got, const std::string& path, bool is_float) {
    for (const auto& [key, val] : want.items()) {
      const std::string sub = path + "[" + key + "]";
      if (got.is_object()) {
        if (!got.contains(key)) { ++report_.facts; mismatch(sub, "missing in the output"); continue; }
        compare(val, got[key], sub, is_float);
        continue;
      }
      std::size_t idx = 0;
      if (!got.is_array() || !parse_index(key, idx) || idx >= got.size()) {
        ++report_.facts;
        mismatch(sub, "no such entry in the output");
        continue;
      }
      compare(val, got[idx], sub, is_float);
    }
  }

  void compare_list(const json& want, const ojson& got, const std::string& path, bool is_float) {
    if (!got.is_array() || got.size() != want.size()) {
      report_.facts += want.size();
      mismatch(path, "expected " + std::to_string(want.size()) + " values, got " + show(got));
      return;
    }
    for (std::size_t k = 0; k < want.size(); ++k) compare(want[k], got[k], path + "[" + std::to_string(k) + "]", is_float);
  }

  bool leaf_equal(const json& want, const ojson& got, bool is_float) const {
    if (want.is_boolean()) return got.is_boolean() && got.get<bool>() == want.get<bool>();
    if (want.is_null()) return got.is_null();
    if (want.is_string()) return got.is_string() && got.get<std::string>() == want.get<std::string>();
    if (!want.is_number() || !got.is_number()) return false;
    if (is_float) return std::fabs(got.get<double>() - want.get<double>()) <= tol_ + 1e-12;
    if (want.is_number_float() || got.is_number_float()) return got.get<double>() == want.get<double>();
    if (want.is_number_unsigned() || got.is_number_unsigned())
      return want.get<std::int64_t>() >= 0 && got.get<std::int64_t>() >= 0 && want.get<std::uint64_t>() == got.get<std::uint64_t>();
    return want.get<std::int64_t>() == got.get<std::int64_t>();
  }

  double tol_;
  CheckReport& report_;
};

double tolerance_of(const json& expect) {
  if (expect.contains("tolerance") && expect["tolerance"].is_object() && expect["tolerance"].contains("f") &&
      expect["tolerance"]["f"].is_number())
    return expect["tolerance"]["f"].get<double>();
  return kDefaultTolerance;
}

void check_epoch(Comparer& cmp, const json& fields, const ojson& epoch, const std::string& path, CheckReport& r) {
  if (!fields.is_object()) { r.mismatches.push_back(path + ": expected facts must be an object of fields"); return; }
  for (const auto& [field, want] : fields.items()) {
    if (!epoch.contains(field)) {
      ++r.facts;
      r.mismatches.push_back(path + "." + field + ": no such output field");
      continue;
    }
    cmp.compare(want, epoch[field], path + "." + field, ends_with_f(field));
  }
}

}  // namespace

CheckReport check_facts(const json& expect, const ojson& output) {
  CheckReport r;
  if (!expect.is_object()) return r;
  Comparer cmp(tolerance_of(expect), r);
  const ojson& epochs = output["epochs"];
  if (expect.contains("epochs")) {
    for (const auto& [key, fields] : expect["epochs"].items()) {
      std::size_t idx = 0;
      if (!parse_index(key, idx) || idx >= epochs.size()) {
        ++r.facts;
        r.mismatches.push_back("epochs[" + key + "]: the schedule has no such epoch");
        continue;
      }
      check_epoch(cmp, fields, epochs[idx], "epochs[" + key + "]", r);
    }
  }
  if (expect.contains("final")) check_epoch(cmp, expect["final"], output["final"], "final", r);
  return r;
}

CheckReport compare_outputs(const json& reference, const ojson& output, double float_tolerance) {
  CheckReport r;
  Comparer cmp(float_tolerance, r);
  if (reference.contains("n")) cmp.compare(reference["n"], output["n"], "n", false);
  if (reference.contains("params")) cmp.compare(reference["params"], output["params"], "params", false);
  const json& epochs = reference.value("epochs", json::array());
  if (!output["epochs"].is_array() || output["epochs"].size() != epochs.size()) {
    r.mismatches.push_back("epochs: reference has " + std::to_string(epochs.size()) + ", output has " +
                           std::to_string(output["epochs"].size()));
    return r;
  }
  for (std::size_t k = 0; k < epochs.size(); ++k)
    check_epoch(cmp, epochs[k], output["epochs"][k], "epochs[" + std::to_string(k) + "]", r);
  return r;
}

}  // namespace ig::yuma::tool
