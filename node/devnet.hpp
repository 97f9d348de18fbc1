// `infergridd devnet`: the whole closed loop on loopback in one command (docs/devnet.md).
// A fresh chain with short epochs, a validator with its verifier, three miners (two honest
// with different declared capacity, one that cheats — a test option), a funded user who
// submits real prompts; it prints one line per event as each task moves through the loop and
// ends with a summary: per task, per miner, the Yuma epochs and a supply check.
#pragma once

#include <cstdint>
#include <string>

#include "common/expected.hpp"

namespace ig::node {

struct DevnetOptions {
  std::string home;                 // created; must not exist
  uint16_t port = 8546;             // node0's JSON-RPC port (validator i: port + i)
  uint16_t p2p_port = 26656;        // validator i listens for peers on p2p_port + i
  unsigned validators = 4;          // each with its verifier
  unsigned tasks = 12;
  std::string model;                // the GGUF every miner and verifier runs (stories260K)
  std::string summary;              // also write the summary as JSON here
  bool keep = false;                // leave the network running at the end
  uint64_t block_time_ms = 300;
  uint64_t tempo = 20;              // blocks per epoch
  unsigned epochs = 2;              // epochs with miner incentive to wait for
  uint32_t max_tokens = 40;
  bool transfers = false;           // first the transfer demo of earlier versions
  std::string password;             // the keystores' password (INFERGRID_PASSWORD)
  // The faces for people (docs/gateway.md, docs/metrics.md): the OpenAI-compatible gateway with
  // a funded account "gateway" (0 = none), and GET /metrics on each miner (miner i: N + i; 0 = none).
  uint16_t gateway_port = 8080;
  uint16_t worker_metrics_port = 0;
};

Status run_devnet(const DevnetOptions& options);

}  // namespace ig::node
