// A whole chain in-process for the settlement contracts: a real LMDB store, the Ledger and
// InfergridApp, several validators whose keys sign every commit, and scripted actors (users,
// miners, validators) that put any transaction into a block. Every committed block is checked
// for conservation of supply: the sum of all balances (module accounts included) equals the
// recorded supply, the supply moves only by minted epoch emission minus slashed stake, and the
// module accounts hold exactly the open escrow and the stakes plus unbonding entries.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "contracts/bank.hpp"
#include "contracts/epoch.hpp"
#include "contracts/params.hpp"
#include "contracts/registry.hpp"
#include "contracts/staking.hpp"
#include "contracts/tasks.hpp"
#include "contracts/weights.hpp"
#include "tests/chain/fixtures.hpp"

namespace ig::testing {

namespace ct = ig::contracts;

// Short windows so scenarios cover many epochs in few blocks.
inline std::string short_params_json(const std::string& extra = "") {
  std::string j = R"({"tempo": 10, "reveal_window_blocks": 5, "result_timeout_blocks": 3, "verification_window_blocks": 2,)"
                  R"( "unbonding_blocks": 5, "min_validator_stake": 1000, "min_miner_stake": 1000,)"
                  R"( "emission_per_epoch": 1000000, "max_task_attempts": 2, "deviation_epochs": 2)";
  if (!extra.empty()) j += ", " + extra;
  return j + "}";
}

// A key pair plus the next nonce the chain expects from it.
struct Actor {
  explicit Actor(const std::string& seed) : key(key_from_seed(seed)) {}
  SecretKey key;
  uint64_t nonce = 0;
  Address addr() const { return key.public_key(); }
};

struct ValidatorKeys {
  SecretKey consensus;
  Actor account;
  Amount power;
};

// One committed block with everything that happened in it.
struct BlockRecord {
  Block block;
  std::vector<Receipt> receipts;
  std::vector<Event> events;  // receipts' events (successful transactions) then block events
};

inline std::string attr(const Event& e, const std::string& key) {
  for (const auto& a : e.attributes)
    if (a.key == key) return a.value;
  return {};
}

class Net {
 public:
  static constexpr Amount kFunds = 1'000'000'000'000;
  static constexpr Amount kFee = 100'000;

  explicit Net(const std::string& params_json = short_params_json(), size_t n_validators = 4, Amount power = 10'000,
               std::vector<std::string> funded = {})
      : chain_(make(params_json, n_validators, power, funded)) {
    recorded_supply_ = chain_.supply();
    check_supply("genesis");
  }

  // ----- actors
  ValidatorKeys& validator(size_t i) { return validators_.at(i); }
  size_t validator_count() const { return validators_.size(); }
  Actor& actor(const std::string& name) {
    auto it = actors_.find(name);
    if (it == actors_.end()) it = actors_.emplace(name, Actor(name)).first;
    return it->second;
  }
  // Lets a consensus key (an admitted validator) sign commits once it joins the set.
  void add_signer(const SecretKey& k) { signers_.emplace(k.public_key(), k); }

  Transaction tx(Actor& who, chain::Payload payload) {
    TxBody body;
    body.chain_id = kChainId;
    body.sender = who.addr();
    body.nonce = who.nonce++;
    body.fee = kFee;
    body.payload = std::move(payload);
    return sign_tx(std::move(body), who.key);
  }

  // ----- blocks
  // Builds the next block from exactly `txs`, validates it as a foreign block and commits it
  // with precommits from every known validator in the current set. Fails the test on error.
  const BlockRecord& block(std::vector<Transaction> txs = {}) {
    auto p = build(std::move(txs));
    if (!p) throw std::runtime_error("build: " + p.error().to_string());
    auto v = chain_.ledger->validate(p->block);
    if (!v) throw std::runtime_error("validate: " + v.error().to_string());
    auto st = chain_.ledger->commit(*v, sign(v->block));
    if (!st) throw std::runtime_error("commit: " + st.error().to_string());
    BlockRecord rec{v->block, v->result.receipts, {}};
    for (const auto& r : rec.receipts)
      if (r.code == TxCode::kOk) rec.events.insert(rec.events.end(), r.events.begin(), r.events.end());
    rec.events.insert(rec.events.end(), v->result.block_events.begin(), v->result.block_events.end());
    history_.push_back(std::move(rec));
    after_block(history_.back());
    return history_.back();
  }
  // Empty blocks until the head reaches `height`.
  void run_to(uint64_t height) {
    while (head() < height) block();
  }
  uint64_t head() const { return chain_.ledger->head().height; }
  uint64_t next() const { return head() + 1; }
  const std::vector<BlockRecord>& history() const { return history_; }

  // A transaction's receipt from the block that carried it.
  Receipt receipt(const Transaction& t) const {
    auto r = chain_.store->receipt(tx_hash(t));
    if (!r || !*r) throw std::runtime_error("no receipt");
    return **r;
  }
  // Commits one block with `t` and returns its receipt.
  Receipt run_tx(Transaction t) {
    block({t});
    return receipt(t);
  }

  // ----- state
  State state() const { return State(chain_.store->latest()); }
  const ct::Params& params() const { return params_; }
  Amount balance(const Address& a) const { return chain_.balance(a); }
  Amount supply() const { return chain_.supply(); }
  ct::staking::Stakes stakes(const Address& a) const { return ct::staking::get_stakes(state(), a); }
  std::optional<ct::tasks::Task> task(uint64_t id) const { return ct::tasks::get_task(state(), id); }
  std::optional<ct::registry::Miner> miner(const Address& a) const { return ct::registry::get_miner(state(), a); }
  std::vector<Validator> validator_set() const {
    auto vs = chain_.ledger->validators();
    if (!vs) throw std::runtime_error(vs.error().to_string());
    return std::move(*vs);
  }
  TestChain& chain() { return chain_; }
  Amount total_minted() const { return minted_; }
  Amount total_slashed() const { return slashed_; }
  size_t supply_checks() const { return supply_checks_; }

  // Events of one type across all committed blocks.
  std::vector<Event> events(const std::string& type) const {
    std::vector<Event> out;
    for (const auto& b : history_)
      for (const auto& e : b.events)
        if (e.type == type) out.push_back(e);
    return out;
  }

  Amount sum_of_balances() const { return chain_.sum_of_balances(); }
  const Genesis& genesis() const { return genesis_; }

  // Applies every committed block to `other` (a fresh chain from the same genesis) the way a
  // follower would: validate (re-execute) then commit; returns the state root after each block.
  std::vector<Hash> replay_into(TestChain& other) {
    std::vector<Hash> roots;
    for (const auto& rec : history_) {
      auto v = other.ledger->validate(rec.block);
      if (!v) throw std::runtime_error("replay validate: " + v.error().to_string());
      const Hash h = block_hash(rec.block.header);
      Commit c{rec.block.header.height, 0, h, {}};
      auto vs = other.ledger->validators();
      if (!vs) throw std::runtime_error(vs.error().to_string());
      for (const auto& val : *vs) {
        auto it = signers_.find(val.consensus_key);
        if (it != signers_.end()) c.signatures.push_back(sign_precommit(it->second, kChainId, c.height, 0, h));
      }
      auto st = other.ledger->commit(*v, c);
      if (!st) throw std::runtime_error("replay commit: " + st.error().to_string());
      roots.push_back(other.ledger->head().state_root);
    }
    return roots;
  }

 private:
  TestChain make(const std::string& params_json, size_t n, Amount power, const std::vector<std::string>& funded) {
    auto parsed = ct::parse_params(params_json);
    if (!parsed) throw std::runtime_error(parsed.error().to_string());
    params_ = *parsed;
    Genesis g;
    g.chain_id = kChainId;
    g.genesis_time_ms = 1'700'000'000'000;
    g.contracts_json = params_json;
    for (size_t i = 0; i < n; ++i) {
      validators_.push_back(ValidatorKeys{key_from_seed("val-consensus-" + std::to_string(i)),
                                         Actor("val-account-" + std::to_string(i)), power});
      const auto& v = validators_.back();
      g.validators.push_back(Validator{v.consensus.public_key(), v.account.addr(), power, "v" + std::to_string(i)});
      g.accounts.push_back(GenesisAccount{v.account.addr(), kFunds});
      signers_.emplace(v.consensus.public_key(), v.consensus);
    }
    for (const auto& name : funded) g.accounts.push_back(GenesisAccount{actor(name).addr(), kFunds});
    genesis_ = g;
    return TestChain(g);
  }

  Commit sign(const Block& b) {
    const Hash h = block_hash(b.header);
    Commit c{b.header.height, 0, h, {}};
    for (const auto& v : validator_set()) {
      auto it = signers_.find(v.consensus_key);
      if (it != signers_.end()) c.signatures.push_back(sign_precommit(it->second, kChainId, b.header.height, 0, h));
    }
    return c;
  }

  Expected<Proposal> build(std::vector<Transaction> txs) {
    IG_TRY_ASSIGN(vs, chain_.ledger->validators());
    const uint64_t height = chain_.ledger->head().height + 1;
    // Rotate the proposer, so fees land on different accounts.
    return build_block(chain_, vs[height % vs.size()].consensus_key, std::move(txs), 1'700'000'000'000 + height * 1000);
  }

  void check_supply(const std::string& where) {
    ++supply_checks_;
    EXPECT_EQ(chain_.sum_of_balances(), chain_.supply()) << "balances != supply at " << where;
  }

  // Supply may move only by emission minted and stake slashed, both announced by events.
  void after_block(const BlockRecord& rec) {
    Amount minted = 0, slashed = 0;
    for (const auto& e : rec.events) {
      if (e.type == "epoch") minted += std::stoull(attr(e, "emission"));
      if (e.type == "slash") slashed += std::stoull(attr(e, "amount"));
    }
    minted_ += minted;
    slashed_ += slashed;
    const Amount now = chain_.supply();
    EXPECT_EQ(static_cast<__int128>(now), static_cast<__int128>(recorded_supply_) + minted - slashed)
        << "supply moved by something other than emission and slashing at height " << rec.block.header.height;
    recorded_supply_ = now;
    check_supply("height " + std::to_string(rec.block.header.height));
    check_module_accounts(rec.block.header.height);
  }

  // The module accounts hold exactly what the contracts say they hold: the escrow is the
  // max_fee of every open task, the staking pool every stake plus every unbonding entry.
  void check_module_accounts(uint64_t height) {
    State s = state();
    Amount open_escrow = 0;
    for (const auto& t : ct::tasks::tasks_in(s, 0, 1'000'000))
      if (t.status == ct::tasks::Status::kPending || t.status == ct::tasks::Status::kAssigned ||
          t.status == ct::tasks::Status::kSubmitted)
        open_escrow += t.max_fee;
    EXPECT_EQ(balance(ct::bank::module_account("tasks")), open_escrow) << "escrow at height " << height;
    Amount staked = 0;
    s.scan(state_key(StatePrefix::kStaking, Bytes{'s'}), [&](ByteView, ByteView v) {
      Reader r(v);
      staked += r.u64();
      staked += r.u64();
      return true;
    });
    s.scan(state_key(StatePrefix::kStaking, Bytes{'u'}), [&](ByteView, ByteView v) {
      Reader r(v);
      (void)r.fixed<32>();
      (void)r.u8();
      staked += r.u64();
      return true;
    });
    EXPECT_EQ(balance(ct::bank::module_account("staking")), staked) << "staking pool at height " << height;
  }

  ct::Params params_;
  Genesis genesis_;
  std::vector<ValidatorKeys> validators_;
  std::map<std::string, Actor> actors_;
  std::map<PublicKey, SecretKey> signers_;
  TestChain chain_;
  std::vector<BlockRecord> history_;
  Amount recorded_supply_ = 0;
  Amount minted_ = 0, slashed_ = 0;
  size_t supply_checks_ = 0;
};

// A digest of every contract's state except the bank's: what "nothing stored changed" means
// for a transaction that failed (it still paid its fee and used its nonce, in the bank).
inline Hash contract_state_digest(const State& s) {
  Sha256 h;
  for (auto prefix : {StatePrefix::kStaking, StatePrefix::kRegistry, StatePrefix::kTasks, StatePrefix::kWeights,
                      StatePrefix::kYuma, StatePrefix::kSlashing})
    s.scan(state_key(prefix, {}), [&](ByteView k, ByteView v) {
      const std::array<uint8_t, 8> lens{static_cast<uint8_t>(k.size()), static_cast<uint8_t>(k.size() >> 8),
                                        static_cast<uint8_t>(k.size() >> 16), static_cast<uint8_t>(k.size() >> 24),
                                        static_cast<uint8_t>(v.size()), static_cast<uint8_t>(v.size() >> 8),
                                        static_cast<uint8_t>(v.size() >> 16), static_cast<uint8_t>(v.size() >> 24)};
      h.update(lens).update(k).update(v);
      return true;
    });
  return h.finish();
}

// ----- payload builders for the scripted actors

inline Hash model_id(const std::string& name) { return sha256(view("gguf:" + name)); }

inline chain::RegisterModel model_payload(const std::string& name, Amount price = 10, uint32_t context = 4096) {
  return chain::RegisterModel{model_id(name), name, "llama", price, context};
}

inline chain::MinerProfile profile(std::vector<Hash> models, uint32_t max_concurrent = 2, std::string gpu = "H100-80GB") {
  return chain::MinerProfile{std::move(gpu), 81'920, max_concurrent, std::move(models)};
}

inline chain::SamplingParams sampling(uint32_t max_tokens = 16, uint64_t seed = 7) {
  return chain::SamplingParams{max_tokens, 0, 0, 1000, seed};
}

inline chain::SubmitTask task_payload(const Hash& model, const std::string& prompt, Amount max_fee, uint32_t max_tokens = 16) {
  return chain::SubmitTask{model, prompt, sampling(max_tokens), max_fee};
}

// The fingerprints an honest scripted miner reports for `tokens`: a function of the tokens
// alone, so a test can rebuild them (and Merkle proofs) from the task record.
inline std::vector<ig::Fingerprint> fingerprints_for(const std::vector<uint32_t>& tokens) {
  std::vector<ig::Fingerprint> out;
  for (size_t i = 0; i < tokens.size(); ++i)
    out.push_back(ig::Fingerprint{static_cast<int32_t>(tokens[i]), 1'000'000 + static_cast<int32_t>(i), 900'000 + static_cast<int32_t>(i)});
  return out;
}

// A result whose receipt is consistent with the task (what an honest miner would send).
inline chain::SubmitResult result_for(const ct::tasks::Task& t, std::vector<uint32_t> tokens) {
  chain::SubmitResult r;
  r.task_id = t.id;
  r.fingerprints = fingerprints_for(tokens);
  r.text = "text of task " + std::to_string(t.id) + ": " + std::to_string(tokens.size()) + " tokens";
  r.receipt.model_id = t.model_id;
  r.receipt.prompt_hash = ig::prompt_hash(t.prompt);
  r.receipt.params_hash = sampling_params_hash(t.params);
  r.receipt.output_hash = ig::output_hash(tokens);
  r.receipt.fingerprint_root = ig::fingerprint_root(r.fingerprints);
  r.receipt.steps = static_cast<uint32_t>(tokens.size());
  r.receipt.backend = "cpu/1";
  r.output_tokens = std::move(tokens);
  return r;
}

// Verdicts: an accept; a reject at `step` with evidence that verifies against the task's
// receipt (the scripted miner's own fingerprint there, and a recomputed one that differs); a
// reject without evidence for a reason the chain cannot check.
inline chain::Verdict accept_verdict(uint64_t task_id) { return chain::Verdict{task_id, true, 0, "", std::nullopt}; }

inline chain::StepEvidence evidence_for(const ct::tasks::Task& t, uint32_t step) {
  auto fps = fingerprints_for(t.output_tokens);
  chain::StepEvidence e;
  e.claimed = fps.at(step);
  e.proof = ig::merkle_prove(ig::fingerprint_leaves(fps), step);
  e.recomputed = e.claimed;
  e.recomputed.logit_q += 1;
  return e;
}

inline chain::Verdict reject_verdict(const ct::tasks::Task& t, uint32_t step, std::string reason = "verify.token_mismatch") {
  return chain::Verdict{t.id, false, step, std::move(reason), evidence_for(t, step)};
}

inline chain::Verdict reject_unchecked(uint64_t task_id, std::string reason = std::string(chain::kReasonTextMismatch)) {
  return chain::Verdict{task_id, false, 0, std::move(reason), std::nullopt};
}

inline std::vector<uint32_t> tokens(size_t n, uint32_t base = 100) {
  std::vector<uint32_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = base + static_cast<uint32_t>(i);
  return out;
}

// A registered model (by validator 0) and miners that stake and register, all in one block.
inline void setup_market(Net& net, const std::vector<std::string>& miners, const std::string& model = "llama-7b",
                         uint32_t max_concurrent = 2, Amount stake = 5'000, Amount price = 10) {
  net.block({net.tx(net.validator(0).account, model_payload(model, price))});
  std::vector<Transaction> txs;
  for (const auto& m : miners) {
    txs.push_back(net.tx(net.actor(m), chain::Stake{StakeRole::kMiner, stake}));
    txs.push_back(net.tx(net.actor(m), chain::RegisterMiner{profile({model_id(model)}, max_concurrent)}));
  }
  const auto& rec = net.block(txs);
  for (const auto& r : rec.receipts) EXPECT_EQ(r.code, TxCode::kOk) << r.error;
}

inline chain::SignedVote signed_vote(const SecretKey& k, uint64_t height, uint32_t round, const Hash& block, uint8_t type = 2) {
  chain::SignedVote v{type, height, round, block, k.public_key(), {}};
  v.signature = k.sign(vote_signing_hash(kChainId, type, height, round, block));
  return v;
}

}  // namespace ig::testing
