// The miner and model registry: register-miner, update-miner, register-model, miners, models.
#include <memory>
#include <set>

#include "wallet/cli/tx_path.hpp"
#include "wallet/parse.hpp"
#include "wallet/payload_args.hpp"

namespace ig::wallet::cli {
namespace {

struct MinerArgs {
  TxOptions tx;
  std::string gpu_class, memory_mb, max_concurrent;
  std::vector<std::string> models;
};

struct ModelArgs {
  TxOptions tx;
  std::string model_file, model_id, name, architecture, price_per_token, context_limit;
};

Expected<chain::MinerProfile> parse_profile(const MinerArgs& a) {
  chain::MinerProfile p;
  IG_TRY(validate_label(a.gpu_class, "--gpu-class"));
  p.gpu_class = a.gpu_class;
  IG_TRY_ASSIGN(memory, parse_u32(a.memory_mb, "--memory-mb"));
  IG_TRY_ASSIGN(concurrent, parse_u32(a.max_concurrent, "--max-concurrent"));
  if (concurrent == 0) return fail("arg.invalid", "--max-concurrent must be at least 1");
  p.memory_mb = memory;
  p.max_concurrent = concurrent;
  if (a.models.empty()) return fail("arg.missing", "give at least one --model ID");
  std::set<chain::Hash> seen;
  for (const auto& text : a.models) {
    IG_TRY_ASSIGN(id, parse_model_id(text));
    if (!seen.insert(id).second) return fail("arg.invalid", "--model " + text + " is listed twice");
    p.models.push_back(id);
  }
  return p;
}

Expected<chain::Payload> model_payload(const ModelArgs& a) {
  if (a.model_file.empty() == a.model_id.empty()) return fail("arg.missing", "give exactly one of --model-file and --model-id");
  chain::RegisterModel m;
  if (!a.model_id.empty()) {
    IG_TRY_ASSIGN(id, parse_model_id(a.model_id));
    m.model_id = id;
  } else {
    IG_TRY_ASSIGN(id, model_id_of_file(a.model_file));
    m.model_id = id;
  }
  IG_TRY(validate_label(a.name, "--name"));
  IG_TRY(validate_label(a.architecture, "--architecture"));
  m.name = a.name;
  m.architecture = a.architecture;
  IG_TRY_ASSIGN(price, parse_amount(a.price_per_token, "--price-per-token"));
  IG_TRY_ASSIGN(context, parse_u32(a.context_limit, "--context-limit"));
  if (context == 0) return fail("arg.invalid", "--context-limit must be positive");
  m.price_per_token = price;
  m.context_limit = context;
  return chain::Payload{m};
}

Expected<Output> run_list(const Globals& g, const char* method, const char* key) {
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(r, node.object_list(method));
  Output out;
  out.data = {{key, r}};
  out.text = list_text(r);
  return out;
}

void add_miner_command(CLI::App& app, const Globals& g, Action& chosen, const char* name, const char* help, bool update) {
  auto a = std::make_shared<MinerArgs>();
  auto* cmd = app.add_subcommand(name, help);
  cmd->add_option("--gpu-class", a->gpu_class, "Accelerator class, e.g. H100-80GB or cpu")->required();
  cmd->add_option("--memory-mb", a->memory_mb, "Accelerator memory in MiB")->required();
  cmd->add_option("--max-concurrent", a->max_concurrent, "Tasks run at once (the scheduler never assigns more)")->required();
  cmd->add_option("--model", a->models, "Served model id (64 hex digits); repeat for several")->required();
  add_tx_options(cmd, a->tx);
  cmd->callback([&, a, update] {
    chosen = [&g, a, update] {
      return send_and_report(g, a->tx, [a, update](TxContext&) -> Expected<chain::Payload> {
        IG_TRY_ASSIGN(profile, parse_profile(*a));
        if (update) return chain::Payload{chain::UpdateMiner{profile}};
        return chain::Payload{chain::RegisterMiner{profile}};
      });
    };
  });
}

}  // namespace

void add_registry_commands(CLI::App& app, const Globals& g, Action& chosen) {
  add_miner_command(app, g, chosen, "register-miner", "Register the sender as a miner (needs the minimum miner stake)", false);
  add_miner_command(app, g, chosen, "update-miner", "Replace the sender's miner profile", true);

  auto ma = std::make_shared<ModelArgs>();
  auto* model = app.add_subcommand("register-model", "Register a model (validators only); its id is the SHA-256 of the GGUF file");
  model->add_option("--model-file", ma->model_file, "GGUF file to hash for the model id");
  model->add_option("--model-id", ma->model_id, "The model id itself (64 hex digits), instead of --model-file");
  model->add_option("--name", ma->name, "Display name")->required();
  model->add_option("--architecture", ma->architecture, "llama, qwen2, ...")->required();
  model->add_option("--price-per-token", ma->price_per_token, "Price per output token in base units")->required();
  model->add_option("--context-limit", ma->context_limit, "Largest context in tokens")->required();
  add_tx_options(model, ma->tx);
  model->callback([&, ma] {
    chosen = [&g, ma] { return send_and_report(g, ma->tx, [ma](TxContext&) { return model_payload(*ma); }); };
  });

  app.add_subcommand("miners", "List the registered miners")->callback([&] {
    chosen = [&g] { return run_list(g, "registry_miners", "miners"); };
  });
  app.add_subcommand("models", "List the registered models")->callback([&] {
    chosen = [&g] { return run_list(g, "registry_models", "models"); };
  });
}

}  // namespace ig::wallet::cli
