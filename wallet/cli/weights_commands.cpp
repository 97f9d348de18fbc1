// Commit-reveal weights and the Yuma epoch: weights commit / reveal / show, epoch.
#include <cstdio>
#include <memory>

#include "wallet/cli/tx_path.hpp"
#include "wallet/parse.hpp"
#include "wallet/payload_args.hpp"
#include "wallet/weights_file.hpp"

namespace ig::wallet::cli {
namespace {

struct CommitArgs {
  TxOptions tx;
  std::string weights, epoch;
};

struct RevealArgs {
  TxOptions tx;
  std::string epoch;
};

struct ShowArgs {
  std::string target;
};

// The epoch the next block falls in: a transaction sent now lands at head + 1 at the earliest.
Expected<uint64_t> current_epoch(NodeClient& node) {
  IG_TRY_ASSIGN(tempo, node.tempo());
  IG_TRY_ASSIGN(head, node.head_height());
  return (head + 1) / tempo;
}

Expected<Output> run_commit(const Globals& g, const CommitArgs& a) {
  auto secret = std::make_shared<WeightsSecret>();
  SendRequest req;
  req.build = [&a, secret](TxContext& ctx) -> Expected<chain::Payload> {
    IG_TRY_ASSIGN(weights, parse_weights(a.weights));
    secret->weights = weights;
    secret->validator = ctx.from.address;
    if (!a.epoch.empty()) {
      IG_TRY_ASSIGN(e, parse_u64(a.epoch, "--epoch"));
      secret->epoch = e;
    } else {
      IG_TRY_ASSIGN(node, ctx.node("the current epoch; give --epoch E"));
      IG_TRY_ASSIGN(e, current_epoch(*node));
      secret->epoch = e;
    }
    IG_TRY_ASSIGN(salt, random_salt());
    secret->salt = salt;
    return commit_payload(*secret);
  };
  // The salt is saved before the commit leaves the wallet: a commit without its salt could
  // never be revealed.
  req.before_send = [secret](TxContext& ctx, const chain::Transaction&) {
    return save_weights_secret(ctx.wallet.dir(), *secret);
  };
  auto sent = send_payload(g, a.tx, req);
  const std::string file = weights_secret_path(g.wallet_dir, secret->validator, secret->epoch);
  // A commit the chain definitely refused leaves no secret behind, so it can be retried.
  const bool refused = (!sent && sent.error().message.rfind("node rejected", 0) == 0) || (sent && sent->out.exit_code != kExitOk);
  if (refused) {
    // Best effort: the refusal is the news; a secret left behind only blocks a retry, which
    // then says so ("already exists").
    auto removed = remove_weights_secret(g.wallet_dir, secret->validator, secret->epoch);
    if (!removed) std::fprintf(stderr, "warning: %s\n", removed.error().message.c_str());
  }
  if (!sent) return fail(sent.error());
  Output out = sent->out;
  out.data["epoch"] = secret->epoch;
  out.data["weights"] = weights_to_string(secret->weights);
  out.data["secret_file"] = file;
  out.text += "weights:          " + weights_to_string(secret->weights) + "\nsaved:            " + file +
              "\nreveal it in the first blocks of epoch " + std::to_string(secret->epoch + 1) + " with 'weights reveal'\n";
  return out;
}

Expected<Output> run_reveal(const Globals& g, const RevealArgs& a) {
  auto epoch = std::make_shared<uint64_t>(0);
  SendRequest req;
  req.build = [&a, epoch](TxContext& ctx) -> Expected<chain::Payload> {
    if (!a.epoch.empty()) {
      IG_TRY_ASSIGN(e, parse_u64(a.epoch, "--epoch"));
      *epoch = e;
    } else if (!ctx.offline) {
      IG_TRY_ASSIGN(node, ctx.node());
      IG_TRY_ASSIGN(now, current_epoch(*node));
      if (now == 0) return fail("arg.invalid", "epoch 0 has no earlier epoch to reveal");
      *epoch = now - 1;
    } else {
      auto latest = latest_secret_epoch(ctx.wallet.dir(), ctx.from.address);
      if (!latest) return fail("weights.no_secret", "no saved weight commitments for " + ctx.from.name);
      *epoch = *latest;
    }
    IG_TRY_ASSIGN(secret, load_weights_secret(ctx.wallet.dir(), ctx.from.address, *epoch));
    return reveal_payload(secret);
  };
  IG_TRY_ASSIGN(sent, send_payload(g, a.tx, req));
  Output out = sent.out;
  out.data["epoch"] = *epoch;
  return out;
}

Expected<Output> run_show(const Globals& g, const ShowArgs& a) {
  IG_TRY_ASSIGN(address, resolve_address(g, a.target));
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(r, node.weights(address));  // checked: every field read below is there and typed
  Output out;
  out.data = {{"address", address}, {"weights", r}};
  if (r.is_null()) {
    out.text = "no revealed weights for " + address + "\n";
    return out;
  }
  std::string list;
  for (const auto& e : r["weights"])
    list += (list.empty() ? "" : ",") + std::to_string(e["uid"].get<uint64_t>()) + ':' + std::to_string(e["weight"].get<uint64_t>());
  out.text = "address:  " + address + "\nepoch:    " + std::to_string(r["reveal_epoch"].get<uint64_t>()) +
             "\nheight:   " + std::to_string(r["reveal_height"].get<uint64_t>()) + "\nweights:  " + (list.empty() ? "(none)" : list) + "\n";
  return out;
}

Expected<Output> run_epoch(const Globals& g) {
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(r, node.last_epoch());  // checked: every field read below is there and typed
  Output out;
  out.data = {{"epoch", r}};
  if (r.is_null()) {
    out.text = "no epoch has been processed yet\n";
    return out;
  }
  auto text = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  out.text = "epoch:    " + text(r["epoch"]) + " (height " + text(r["height"]) + ", emission " + text(r["emission"]) + ")\n";
  out.text += "uid  account  stake_weight  consensus  incentive  dividends  trust  permit  emission\n";
  for (const auto& u : r["uids"]) {
    std::string line;
    for (const char* k : {"uid", "account", "stake_weight", "consensus", "incentive", "dividends", "validator_trust",
                          "validator_permit", "emission"})
      line += (line.empty() ? "" : "  ") + text(u[k]);
    out.text += line + "\n";
  }
  return out;
}

}  // namespace

void add_weights_commands(CLI::App& app, const Globals& g, Action& chosen) {
  auto* weights = app.add_subcommand("weights", "Validators' commit-reveal weights: commit, reveal, show");
  weights->require_subcommand(1);

  auto ca = std::make_shared<CommitArgs>();
  auto* commit = weights->add_subcommand("commit", "Commit to weights now; the salt is kept in WALLET_DIR/weights/");
  commit->add_option("--weights", ca->weights, "UID:WEIGHT[,UID:WEIGHT...], weights 0..65535")->required();
  commit->add_option("--epoch", ca->epoch, "Epoch to commit in (default: the current one, from the node)");
  add_tx_options(commit, ca->tx);
  commit->callback([&, ca] { chosen = [&g, ca] { return run_commit(g, *ca); }; });

  auto ra = std::make_shared<RevealArgs>();
  auto* reveal = weights->add_subcommand("reveal", "Reveal the weights committed in an epoch (in the next epoch's reveal window)");
  reveal->add_option("--epoch", ra->epoch, "Epoch of the commit (default: the one before the current)");
  add_tx_options(reveal, ra->tx);
  reveal->callback([&, ra] { chosen = [&g, ra] { return run_reveal(g, *ra); }; });

  auto sa = std::make_shared<ShowArgs>();
  auto* show = weights->add_subcommand("show", "Show a validator's latest revealed weights");
  show->add_option("account", sa->target, "Key name or ig1... address")->required();
  show->callback([&, sa] { chosen = [&g, sa] { return run_show(g, *sa); }; });

  app.add_subcommand("epoch", "Show the last Yuma epoch's per-uid results")->callback([&] {
    chosen = [&g] { return run_epoch(g); };
  });
}

}  // namespace ig::wallet::cli
