// One completion request, from the validated body to the answer: the prompt (the chat
// template for chat), the task's parameters and fee, the submission, the stages while it runs
// (stream comments), resubmission after a rejected result, the timeout, and the reply.
#include <spdlog/spdlog.h>

#include <random>

#include "chain/address.hpp"
#include "chain/bytes.hpp"
#include "gateway/gateway_impl.hpp"

namespace ig::gateway {
namespace {

using namespace std::chrono_literals;

constexpr uint32_t kCompletionsDefaultMaxTokens = 16;  // OpenAI's default for /v1/completions
// The status counted for a request whose client left first (nginx's "client closed request").
constexpr int kClientClosed = 499;

uint64_t unix_now() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

uint64_t draw_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32 | rd()) & ((uint64_t{1} << 53) - 1);  // exact in any JSON reader
}

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<Gateway::Impl> gw, std::shared_ptr<Exchange> ex, CompletionRequest req, ModelEntry model)
      : gw_(std::move(gw)), ex_(std::move(ex)), req_(std::move(req)), model_(std::move(model)),
        route_(req_.endpoint == Endpoint::Chat ? "chat" : "completions"), started_(Clock::now()) {}

  // Builds the task; a request the network cannot take is answered here (400).
  void start() {
    const ModelFile* file = gw_->files->find(model_.id_hex);
    family_ = file ? file->family : TemplateFamily::Plain;
    prompt_ = req_.endpoint == Endpoint::Chat ? render_chat(family_, req_.messages) : req_.prompt;
    if (prompt_.empty()) return fail(bad_request("the prompt is empty (the messages have no content)", "messages"));
    if (prompt_.size() > kMaxPromptBytes)
      return fail(bad_request("the prompt (after the chat template) exceeds the chain's limit of " +
                                  std::to_string(kMaxPromptBytes) + " bytes",
                              req_.endpoint == Endpoint::Chat ? "messages" : "prompt", "context_length_exceeded"));
    prompt_tokens_ = gw_->files->prompt_tokens(model_.id_hex, prompt_);
    if (!choose_max_tokens()) return;
    params_.max_tokens = max_tokens_;
    params_.temperature_milli = req_.temperature_milli;
    params_.top_p_milli = req_.top_p_milli;
    params_.top_k = req_.top_k;
    params_.seed = req_.seed ? *req_.seed : draw_seed();
    if (auto why = sampling_params_problem(params_)) return fail(bad_request(*why));
    auto id = chain::from_hex_fixed<32>(model_.id_hex);
    if (!id) return fail(ApiError{500, "server_error", "internal_error", "bad model id in the registry", ""});
    task_.model_id = *id;
    task_.prompt = prompt_;
    task_.params = params_;
    task_.max_fee = model_.price_per_token * max_tokens_;
    head_.id = std::string(req_.endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-") + "infergrid-pending";
    head_.model = model_.id_hex;
    head_.created = unix_now();
    ++gw_->in_flight;
    counted_ = true;
    auto self = shared_from_this();
    ex_->after(gw_->config.timeout, [self] { self->on_timeout(); });
    ex_->on_close([self] { self->on_client_gone(); });
    submit();
  }

 private:
  // max_tokens: asked for, or the default; within the fee limit and the model's context.
  bool choose_max_tokens() {
    const bool asked = req_.max_tokens.has_value();
    uint64_t n = asked ? *req_.max_tokens
                       : (req_.endpoint == Endpoint::Chat ? gw_->config.default_max_tokens : kCompletionsDefaultMaxTokens);
    const uint64_t price = model_.price_per_token;
    if (price > 0 && n * price > gw_->config.fee_limit) {
      if (asked || gw_->config.fee_limit / price == 0) {
        fail(bad_request("max_tokens " + std::to_string(n) + " at " + std::to_string(price) + " per token is " +
                             std::to_string(n * price) + ", above this gateway's fee limit of " +
                             std::to_string(gw_->config.fee_limit) + ": ask for at most " +
                             std::to_string(gw_->config.fee_limit / price) + " tokens",
                         "max_tokens", "fee_limit_exceeded"));
        return false;
      }
      n = gw_->config.fee_limit / price;
    }
    const uint64_t context = model_.context_limit;
    const uint64_t used = prompt_tokens_.value_or(0);
    if (context > 0 && used + n > context) {
      if (asked || used >= context) {
        fail(bad_request("the prompt (" + std::to_string(used) + " tokens) and max_tokens (" + std::to_string(n) +
                             ") exceed the model's context limit of " + std::to_string(context) + " tokens",
                         "max_tokens", "context_length_exceeded"));
        return false;
      }
      n = context - used;
    }
    max_tokens_ = static_cast<uint32_t>(n);
    return true;
  }

  void submit() {
    ++attempts_;
    std::weak_ptr<Call> weak = shared_from_this();
    std::shared_ptr<Exchange> ex = ex_;
    handle_ = gw_->chain->submit(task_, gw_->config.answer_at_result, [weak, ex](const TaskUpdate& u) {
      ex->post([weak, u] {
        if (auto self = weak.lock()) self->on_update(u);
      });
    });
    // The Call must live while the chain may still report: the timer and this reference keep it.
    keep_alive_ = shared_from_this();
  }

  void on_update(const TaskUpdate& u) {
    if (answered_) return;
    switch (u.kind) {
      case TaskUpdate::Submitted:
        task_id_ = u.task_id;
        // One id for the whole answer, even when a rejected result makes it a second task.
        if (head_.id.find("pending") != std::string::npos)
          head_.id = std::string(req_.endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-") + "infergrid-" +
                     std::to_string(u.task_id);
        submit_txs_.push_back(u.submit_tx);
        if (req_.stream) {
          open_stream();
          comment("task " + std::to_string(u.task_id) + " submitted (" + u.submit_tx.substr(0, 16) + ")");
        }
        return;
      case TaskUpdate::Progress:
        if (u.stage == "assigned") ++assignments_;
        if (req_.stream) comment("task " + std::to_string(u.task_id) + ": " + u.detail);
        return;
      case TaskUpdate::Failed:
        return fail(failure(u.error));
      case TaskUpdate::Final:
        return on_final(u);
    }
  }

  void on_final(const TaskUpdate& u) {
    const std::string status = u.task.value("status", "");
    if (status == "settled" || status == "submitted") return succeed(u.task);
    if (status == "rejected") {
      rejected_.push_back(u.task_id);
      const bool time_left = Clock::now() - started_ < gw_->config.timeout * 3 / 4;
      if (attempts_ < gw_->config.max_attempts && time_left) {
        ++gw_->retries;
        spdlog::info("gateway: task {} was rejected by the validators (the miner is slashed); submitting again", u.task_id);
        if (req_.stream) comment("task " + std::to_string(u.task_id) + " REJECTED by the validators; submitting again");
        return submit();
      }
      return fail(ApiError{502, "server_error", "verification_failed",
                           "The result of task " + std::to_string(u.task_id) +
                               " was rejected by the validators (the miner was slashed, the fee refunded) " +
                               std::to_string(attempts_) + " time(s); no verified answer.",
                           ""});
    }
    if (status == "expired")
      return fail(ApiError{503, "server_error", "no_miner",
                           "No miner delivered task " + std::to_string(u.task_id) + " in time (refunded).", ""});
    fail(ApiError{502, "server_error", "task_" + status,
                  "Task " + std::to_string(u.task_id) + " ended as '" + status + "' without an answer.", ""});
  }

  static ApiError failure(const Error& e) {
    if (e.code == "gateway.tx")
      return ApiError{502, "server_error", "task_refused", "The node refused the task: " + e.message, ""};
    if (e.code == "gateway.lost")
      return ApiError{504, "server_error", "timeout", e.message, ""};
    return ApiError{503, "server_error", "node_unavailable", "The gateway cannot reach its node: " + e.message, ""};
  }

  void on_timeout() {
    if (answered_) return;
    gw_->chain->abandon(handle_);
    ++gw_->timeouts;
    fail(ApiError{504, "server_error", "timeout",
                  "No verified answer within " + std::to_string(gw_->config.timeout.count() / 1000.0).substr(0, 6) +
                      " s" + (task_id_ ? " (task " + std::to_string(task_id_) + " goes on on chain)" : ""),
                  ""});
  }

  // The client closed the connection before its answer: nobody is left to pay attention, so the
  // task is abandoned as on a timeout (cancelled on chain while still pending, its escrow back)
  // and its in-flight slot freed now rather than when the chain closes the task.
  void on_client_gone() {
    if (answered_) return;
    gw_->chain->abandon(handle_);
    ++gw_->client_closed;
    finish(kClientClosed);
    gw_->count(route_, kClientClosed);
  }

  void succeed(const json& task) {
    const json result = task.value("result", json::object());
    Completion c = head_;
    c.text = result.value("text", "");
    std::vector<uint32_t> tokens;
    if (result.contains("output_tokens") && result["output_tokens"].is_array())
      for (const auto& t : result["output_tokens"])
        if (t.is_number_integer() && t.get<int64_t>() >= 0 && t.get<int64_t>() <= UINT32_MAX) tokens.push_back(t.get<uint32_t>());
    c.completion_tokens = tokens.size();
    c.prompt_tokens = prompt_tokens_.value_or(0);
    // "length" only when generation was cut by max_tokens; an output ending in EOS stopped.
    bool ended_by_eos = tokens.size() < max_tokens_;
    const ModelFile* file = gw_->files->find(model_.id_hex);
    if (!tokens.empty() && file && file->tokenizer)
      ended_by_eos = file->tokenizer->is_end_of_generation(static_cast<tok::TokenId>(tokens.back()));
    c.finish_reason = ended_by_eos ? "stop" : "length";
    const bool stopped = apply_stop(c.text, req_.stop);
    if (stopped) c.finish_reason = "stop";
    c.extension = extension(task, stopped);
    gw_->prompt_tokens += c.prompt_tokens;
    gw_->completion_tokens += c.completion_tokens;
    finish(200);
    if (!req_.stream) {
      gw_->count(route_, 200);
      ++gw_->completions;
      return ex_->respond(200, "application/json", completion_json(req_.endpoint, c).dump(-1, ' ', false,
                                                                                           json::error_handler_t::replace));
    }
    open_stream();
    gw_->first_byte_seconds.observe(std::chrono::duration<double>(Clock::now() - started_).count());
    for (const auto& piece : stream_pieces(c.text)) ex_->send(sse_event(chunk_text(req_.endpoint, c, piece)));
    ex_->send(sse_event(chunk_finish(req_.endpoint, c)));
    if (req_.include_usage) ex_->send(sse_event(chunk_usage(req_.endpoint, c)));
    ex_->send(sse_done());
    ex_->end();
    gw_->count(route_, 200);
    ++gw_->completions;
  }

  json extension(const json& task, bool stopped) const {
    const json result = task.value("result", json::object());
    json verdicts = json::array();
    if (task.contains("verdicts") && task["verdicts"].is_array())
      for (const auto& v : task["verdicts"])
        verdicts.push_back({{"account", v.value("account", "")}, {"accept", v.value("accept", false)},
                            {"reason", v.value("reason", "")}, {"height", v.value("height", 0)}});
    const json receipt = result.value("receipt", json::object());
    return json{{"task_id", task_id_},
                {"status", task.value("status", "")},
                {"verified", task.value("status", "") == "settled"},
                {"model_id", model_.id_hex},
                {"model_name", model_.name},
                {"submit_tx", submit_txs_.empty() ? "" : submit_txs_.back()},
                {"miner", task.value("miner", "")},
                {"result_tx", result.value("tx_hash", "")},
                {"result_height", result.value("height", 0)},
                {"receipt", receipt},
                {"receipt_id", receipt.value("receipt_id", "")},
                {"verdicts", verdicts},
                {"max_fee", task.value("max_fee", "0")},
                {"fee_paid", task.value("fee_paid", "0")},
                {"refunded", task.value("refunded", "0")},
                {"params", {{"max_tokens", params_.max_tokens}, {"temperature_milli", params_.temperature_milli},
                            {"top_k", params_.top_k}, {"top_p_milli", params_.top_p_milli}, {"seed", params_.seed}}},
                {"prompt_template", std::string(family_name(family_))},
                {"prompt_tokens_counted", prompt_tokens_.has_value()},
                {"stop_applied", stopped},
                {"attempts", attempts_},
                {"rejected_tasks", rejected_},
                {"answered_at", gw_->config.answer_at_result ? "result" : "settled"}};
  }

  void open_stream() {
    if (stream_open_) return;
    stream_open_ = true;
    ex_->open_stream();
    if (req_.endpoint == Endpoint::Chat) ex_->send(sse_event(chunk_role(head_)));
  }
  void comment(const std::string& text) {
    if (stream_open_) ex_->send(sse_comment(text));
  }

  void fail(const ApiError& e) {
    if (answered_) return;
    finish(e.status);
    if (stream_open_) {
      // Headers are gone: the error travels in the stream, as OpenAI sends it.
      gw_->count(route_, e.status);
      ex_->send(sse_event(error_json(e)));
      ex_->end();
      return;
    }
    gw_->answer_error(ex_, route_, e);
  }

  void finish(int status) {
    answered_ = true;
    if (counted_) {
      --gw_->in_flight;
      counted_ = false;
      if (status == 200)
        gw_->completion_seconds.observe(std::chrono::duration<double>(Clock::now() - started_).count());
    }
    if (req_.stream) ++gw_->streams;
    auto self = std::move(keep_alive_);  // released when this call returns
  }

  std::shared_ptr<Gateway::Impl> gw_;
  std::shared_ptr<Exchange> ex_;
  CompletionRequest req_;
  ModelEntry model_;
  std::string route_;
  Clock::time_point started_;
  TemplateFamily family_ = TemplateFamily::Plain;
  std::string prompt_;
  std::optional<uint64_t> prompt_tokens_;
  uint32_t max_tokens_ = 0;
  SamplingParams params_;
  chain::SubmitTask task_;
  Completion head_;
  uint64_t handle_ = 0, task_id_ = 0;
  unsigned attempts_ = 0, assignments_ = 0;
  std::vector<std::string> submit_txs_;
  std::vector<uint64_t> rejected_;
  bool answered_ = false, counted_ = false, stream_open_ = false;
  std::shared_ptr<Call> keep_alive_;
};

}  // namespace

void run_completion(const std::shared_ptr<Gateway::Impl>& gw, const std::shared_ptr<Exchange>& ex,
                    CompletionRequest req, ModelEntry model) {
  std::make_shared<Call>(gw, ex, std::move(req), std::move(model))->start();
}

}  // namespace ig::gateway
