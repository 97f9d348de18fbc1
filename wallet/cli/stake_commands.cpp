// Staking and the validator set: stake, unstake, stake show, validator propose / approve,
// validators, evidence.
#include <memory>

#include "wallet/cli/tx_path.hpp"
#include "wallet/parse.hpp"
#include "wallet/payload_args.hpp"
#include "wallet/secure_file.hpp"

namespace ig::wallet::cli {
namespace {

struct StakeArgs {
  TxOptions tx;
  std::string role, amount;
};

struct ProposeArgs {
  TxOptions tx;
  std::string consensus_key, account, name;
};

struct ApproveArgs {
  TxOptions tx;
  std::string proposal;
};

struct EvidenceArgs {
  TxOptions tx;
  std::string file;
};

struct ShowArgs {
  std::string target;
};

template <class Kind>
Expected<chain::Payload> stake_payload(const StakeArgs& a) {
  if (a.role.empty() || a.amount.empty()) return fail("arg.missing", "give --role validator|miner and --amount N");
  IG_TRY_ASSIGN(role, parse_role(a.role));
  IG_TRY_ASSIGN(amount, parse_amount(a.amount, "--amount"));
  if (amount == 0) return fail("arg.invalid", "--amount must be positive");
  return chain::Payload{Kind{role, amount}};
}

Expected<Output> run_stake_show(const Globals& g, const ShowArgs& a) {
  IG_TRY_ASSIGN(address, resolve_address(g, a.target));
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(r, node.stake(address));
  Output out;
  out.data = r;
  out.text = fields_text(r);
  return out;
}

Expected<Output> run_validators(const Globals& g) {
  IG_TRY_ASSIGN(node, connect(g));
  IG_TRY_ASSIGN(r, node.object_list("staking_validators"));
  Output out;
  out.data = {{"validators", r}};
  out.text = list_text(r);
  return out;
}

Expected<chain::Payload> propose_payload(const ProposeArgs& a) {
  IG_TRY_ASSIGN(key, parse_consensus_key(a.consensus_key));
  IG_TRY_ASSIGN(account, parse_address(a.account));
  IG_TRY(validate_label(a.name, "--name"));
  return chain::Payload{chain::ProposeValidator{key, account, a.name}};
}

Expected<chain::Payload> evidence_payload(const EvidenceArgs& a) {
  auto text = read_small_file(a.file, 64 * 1024);
  if (!text) return fail("arg.evidence_file", "cannot read " + a.file + ": " + text.error().message);
  IG_TRY_ASSIGN(ev, parse_evidence(*text));
  return chain::Payload{ev};
}

}  // namespace

void add_stake_commands(CLI::App& app, const Globals& g, Action& chosen) {
  auto sa = std::make_shared<StakeArgs>();
  auto* stake = app.add_subcommand("stake", "Lock balance as validator or miner stake ('stake show' to look one up)");
  stake->require_subcommand(0, 1);
  stake->add_option("--role", sa->role, "validator or miner");
  stake->add_option("--amount", sa->amount, "Amount in base units");
  add_tx_options(stake, sa->tx, /*from_required=*/false);
  auto show = std::make_shared<ShowArgs>();
  auto* stake_show = stake->add_subcommand("show", "Show the validator and miner stake of a key or address");
  stake_show->add_option("account", show->target, "Key name or ig1... address")->required();
  stake_show->callback([&, show] { chosen = [&g, show] { return run_stake_show(g, *show); }; });
  stake->callback([&, sa, stake_show] {
    if (*stake_show) return;
    chosen = [&g, sa] { return send_and_report(g, sa->tx, [sa](TxContext&) { return stake_payload<chain::Stake>(*sa); }); };
  });

  auto ua = std::make_shared<StakeArgs>();
  auto* unstake = app.add_subcommand("unstake", "Start unbonding stake; it returns to the balance after the unbonding period");
  unstake->add_option("--role", ua->role, "validator or miner")->required();
  unstake->add_option("--amount", ua->amount, "Amount in base units")->required();
  add_tx_options(unstake, ua->tx);
  unstake->callback([&, ua] {
    chosen = [&g, ua] { return send_and_report(g, ua->tx, [ua](TxContext&) { return stake_payload<chain::Unstake>(*ua); }); };
  });

  auto* validator = app.add_subcommand("validator", "Propose or approve a new validator (current validators only)");
  validator->require_subcommand(1);
  auto pa = std::make_shared<ProposeArgs>();
  auto* propose = validator->add_subcommand("propose", "Propose a validator; it joins once >2/3 of the power approves");
  propose->add_option("--consensus-key", pa->consensus_key, "The candidate's consensus public key (64 hex digits)")->required();
  propose->add_option("--account", pa->account, "The candidate's ig1... account (receives its rewards)")->required();
  propose->add_option("--name", pa->name, "A label, 1-64 printable characters")->required();
  add_tx_options(propose, pa->tx);
  propose->callback([&, pa] {
    chosen = [&g, pa] { return send_and_report(g, pa->tx, [pa](TxContext&) { return propose_payload(*pa); }); };
  });
  auto aa = std::make_shared<ApproveArgs>();
  auto* approve = validator->add_subcommand("approve", "Approve a pending validator proposal");
  approve->add_option("--proposal", aa->proposal, "Proposal id (from the validator_proposed event)")->required();
  add_tx_options(approve, aa->tx);
  approve->callback([&, aa] {
    chosen = [&g, aa] {
      return send_and_report(g, aa->tx, [aa](TxContext&) -> Expected<chain::Payload> {
        IG_TRY_ASSIGN(id, parse_u64(aa->proposal, "--proposal"));
        return chain::Payload{chain::ApproveValidator{id}};
      });
    };
  });

  auto* validators = app.add_subcommand("validators", "List the registered validators and their stake");
  validators->callback([&] { chosen = [&g] { return run_validators(g); }; });

  auto ea = std::make_shared<EvidenceArgs>();
  auto* evidence = app.add_subcommand("evidence", "Report a double sign: two conflicting signed votes of one validator");
  evidence->add_option("--file", ea->file, "JSON file {\"a\": VOTE, \"b\": VOTE} (see docs/wallet.md)")->required();
  add_tx_options(evidence, ea->tx);
  evidence->callback([&, ea] {
    chosen = [&g, ea] { return send_and_report(g, ea->tx, [ea](TxContext&) { return evidence_payload(*ea); }); };
  });
}

}  // namespace ig::wallet::cli
