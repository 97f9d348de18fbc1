// The P2P layer's public headers: node ids and addresses, the node key, the network.
// docs/p2p.md describes the design, the limits and how an operator connects nodes.
#pragma once

#include "p2p/network.hpp"
#include "p2p/node_id.hpp"
#include "p2p/node_key.hpp"
