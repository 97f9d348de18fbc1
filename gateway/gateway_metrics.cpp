// The gateway's /metrics (docs/metrics.md, "Gateway").
#include "gateway/gateway_impl.hpp"

namespace ig::gateway {

std::string render_metrics(const Gateway::Impl& gw) {
  rpc::MetricsText m;
  m.family("infergrid_gateway_requests_total", "counter",
           "HTTP requests answered, by route (completions, chat, models, health, metrics, other) and status code.");
  {
    std::lock_guard l(gw.counts_mu);
    for (const auto& [key, n] : gw.responses)
      m.sample("infergrid_gateway_requests_total", static_cast<double>(n),
               {{"route", key.first}, {"code", std::to_string(key.second)}});
  }
  m.histogram("infergrid_gateway_completion_duration_seconds",
              "Time from a completion request to its answer (200 only), chain time included.",
              gw.completion_seconds.snapshot());
  m.histogram("infergrid_gateway_stream_first_content_seconds",
              "Streams: time from the request to the first content chunk.", gw.first_byte_seconds.snapshot());
  m.single("infergrid_gateway_in_flight_requests", "gauge", "Completion requests waiting on the chain now.",
           static_cast<double>(gw.in_flight.load()));
  m.single("infergrid_gateway_stream_requests_total", "counter", "Completion requests answered as a stream.",
           static_cast<double>(gw.streams.load()));
  m.single("infergrid_gateway_task_retries_total", "counter",
           "Tasks submitted again after the validators rejected a result.", static_cast<double>(gw.retries.load()));
  m.single("infergrid_gateway_timeouts_total", "counter", "Completion requests answered 504.",
           static_cast<double>(gw.timeouts.load()));
  m.single("infergrid_gateway_client_closed_total", "counter",
           "Completion requests whose client closed the connection before the answer (counted as status 499; the task abandoned).",
           static_cast<double>(gw.client_closed.load()));
  m.single("infergrid_gateway_prompt_tokens_total", "counter", "Prompt tokens of answered completions (counted by the model file's tokenizer).",
           static_cast<double>(gw.prompt_tokens.load()));
  m.single("infergrid_gateway_completion_tokens_total", "counter", "Generated tokens of answered completions.",
           static_cast<double>(gw.completion_tokens.load()));

  const ChainStats c = gw.chain->stats();
  m.single("infergrid_gateway_tasks_submitted_total", "counter", "SubmitTask transactions sent by the gateway's account.",
           static_cast<double>(c.submitted));
  m.single("infergrid_gateway_task_submit_failures_total", "counter", "SubmitTask transactions the node refused or never got.",
           static_cast<double>(c.submit_failures));
  m.single("infergrid_gateway_tasks_cancelled_total", "counter", "CancelTask sent for abandoned tasks still pending.",
           static_cast<double>(c.cancelled));
  m.single("infergrid_gateway_tasks_following", "gauge", "Tasks the gateway follows now.", static_cast<double>(c.following));
  m.single("infergrid_gateway_node_connected", "gauge", "1 while the gateway's node answers.", gw.chain->connected() ? 1 : 0);
  m.single("infergrid_gateway_node_reconnects_total", "counter", "Reconnections to the node.", static_cast<double>(c.reconnects));
  m.single("infergrid_gateway_chain_height", "gauge", "The last block height the gateway saw.", static_cast<double>(c.height));

  m.family("infergrid_gateway_model_miners", "gauge", "Staked miners serving each registered model.");
  for (const auto& model : gw.chain->models())
    m.sample("infergrid_gateway_model_miners", static_cast<double>(model.miners), {{"model", model.name}, {"id", model.id_hex}});

  if (gw.server) {
    const HttpServerStats h = gw.server->stats();
    m.single("infergrid_gateway_connections", "gauge", "Open HTTP connections.", static_cast<double>(h.connections));
    m.single("infergrid_gateway_rejected_connections_total", "counter", "Connections refused over the connection limits.",
             static_cast<double>(h.rejected_connections));
    m.single("infergrid_gateway_bad_requests_total", "counter", "Malformed or oversized HTTP requests.",
             static_cast<double>(h.bad_requests));
  }
  m.single("infergrid_gateway_rate_limited_clients", "gauge", "Clients (keys or addresses) with a rate-limit bucket in use.",
           static_cast<double>(gw.limiter.clients()));
  return m.text();
}

}  // namespace ig::gateway
