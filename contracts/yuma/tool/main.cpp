// infergrid-yuma: runs a Yuma case file (docs/yuma.md §13) through ig::yuma::run_epoch and
// writes the output format of §13; --check compares with the case's "expect" facts.
// Exit codes: 0 success, 1 facts mismatched, 2 unreadable or malformed input.
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "contracts/yuma/tool/case.hpp"
#include "contracts/yuma/tool/check.hpp"
#include "contracts/yuma/tool/report.hpp"
#include "contracts/yuma/tool/simulate.hpp"

namespace {

using namespace ig::yuma::tool;

constexpr int kOk = 0, kMismatch = 1, kBadInput = 2;
constexpr std::size_t kMaxListed = 50;

ig::Expected<nlohmann::json> read_json(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return ig::fail("yuma.io", "cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  // Every error the JSON library reports, not only syntax: a number beyond a double (1e400)
  // is out_of_range, and it once escaped the same kind of narrow catch in the RPC server.
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    return ig::fail("yuma.json", path + ": malformed JSON: " + e.what());
  }
}

bool print_report(const std::string& what, const CheckReport& r) {
  std::cout << what << ": " << r.facts << " facts checked, " << (r.facts - std::min(r.facts, r.mismatches.size()))
            << " pass, " << r.mismatches.size() << " mismatch" << (r.mismatches.size() == 1 ? "" : "es") << "\n";
  for (std::size_t k = 0; k < r.mismatches.size() && k < kMaxListed; ++k) std::cout << "  MISMATCH " << r.mismatches[k] << "\n";
  if (r.mismatches.size() > kMaxListed) std::cout << "  ... " << r.mismatches.size() - kMaxListed << " more\n";
  return r.ok();
}

// Drops mismatches at the given paths (known artifacts of a reference file), saying so; the
// dropped facts no longer count as checked.
CheckReport without_ignored(CheckReport r, const std::vector<std::string>& ignored) {
  const std::size_t before = r.mismatches.size();
  std::erase_if(r.mismatches, [&](const std::string& m) {
    for (const std::string& path : ignored)
      if (m.rfind(path + ": ", 0) == 0) {
        std::cout << "  ignored (--reference-ignore) " << m << "\n";
        return true;
      }
    return false;
  });
  r.facts -= before - r.mismatches.size();
  return r;
}

int run(const std::string& case_path, Defaults defaults, const std::string& out_path, bool check,
        const std::string& reference_path, double reference_tol, const std::vector<std::string>& ignored) {
  auto doc = read_json(case_path);
  if (!doc) { std::cerr << "infergrid-yuma: " << doc.error().message << "\n"; return kBadInput; }
  auto c = parse_case(*doc, defaults);
  if (!c) { std::cerr << "infergrid-yuma: " << case_path << ": " << c.error().message << "\n"; return kBadInput; }
  auto records = simulate(*c);
  if (!records) { std::cerr << "infergrid-yuma: " << case_path << ": " << records.error().to_string() << "\n"; return kBadInput; }
  const nlohmann::ordered_json output = report(*c, *records);

  if (!out_path.empty()) {
    std::ofstream f(out_path, std::ios::binary | std::ios::trunc);
    if (!(f << output.dump(1) << "\n")) { std::cerr << "infergrid-yuma: cannot write " << out_path << "\n"; return kBadInput; }
  } else if (!check && reference_path.empty()) {
    std::cout << output.dump(1) << "\n";
  }

  bool ok = true;
  if (check) {
    if (c->expect.is_null()) std::cout << case_path << ": no \"expect\" facts\n";
    ok = print_report(case_path + " expect", check_facts(c->expect, output)) && ok;
    if (!c->expect_log.is_null()) {
      // Informational: numbers from trace comments and targets the source tests never compared.
      const CheckReport log = check_facts(c->expect_log, output);
      std::cout << case_path << " expect_log (informational): " << log.facts << " facts, "
                << log.facts - std::min(log.facts, log.mismatches.size()) << " agree\n";
    }
  }
  if (!reference_path.empty()) {
    auto ref = read_json(reference_path);
    if (!ref) { std::cerr << "infergrid-yuma: " << ref.error().message << "\n"; return kBadInput; }
    const CheckReport r = without_ignored(compare_outputs(*ref, output, reference_tol), ignored);
    ok = print_report(case_path + " vs " + reference_path, r) && ok;
  }
  return ok ? kOk : kMismatch;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run a Yuma consensus case (docs/yuma.md §13) and write or check its outputs"};
  std::string case_path, out_path, reference_path, defaults_name = "chain";
  bool check = false;
  double reference_tol = 1e-9;
  std::vector<std::string> ignored;
  app.add_option("case", case_path, "case file (*.in.json)")->required();
  app.add_option("-o,--output", out_path, "write the output document here (default: stdout unless checking)");
  app.add_option("--defaults", defaults_name,
                 "what a parameter missing from the case means: chain (this chain's values) or storage "
                 "(subtensor's storage defaults, yuma.md §4)")
      ->capture_default_str();
  app.add_flag("--check", check, "compare with the case's \"expect\" facts; exit 1 on any mismatch");
  app.add_option("--reference", reference_path, "also compare every field with a full output file (*.out.json)");
  app.add_option("--reference-tolerance", reference_tol, "tolerance for _f fields in --reference")->capture_default_str();
  app.add_option("--reference-ignore", ignored, "a field path (as mismatches print it) to leave out of --reference");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kBadInput;
  }
  auto defaults = parse_defaults(defaults_name);
  if (!defaults) { std::cerr << "infergrid-yuma: " << defaults.error().message << "\n"; return kBadInput; }
  return run(case_path, *defaults, out_path, check, reference_path, reference_tol, ignored);
}
