#!/usr/bin/env bash
# The devnet the gateway, explorer and metrics tests run against (a ctest fixture):
#
#   devnet_fixture.sh start BIN_DIR STATE_DIR   runs `infergridd devnet --keep` on free ports and
#                                               writes STATE_DIR/env.sh (URLs, ports, home, pids)
#   devnet_fixture.sh stop  BIN_DIR STATE_DIR   kills exactly the processes the devnet printed
#
# The devnet is the real closed loop (4 validators with verifiers, 3 miners of which one cheats,
# the gateway), so the tests see verified tasks, rejections, slashes and epochs.
set -euo pipefail
cmd="$1" bin="$2" state="$3"
model="${INFERGRID_SHARED_DATA:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/data}/models/stories260K.gguf"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

stop() {
  [ -f "$state/env.sh" ] || return 0
  # shellcheck disable=SC1091
  . "$state/env.sh"
  for pid in $DEVNET_PIDS; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in $DEVNET_PIDS; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in $DEVNET_PIDS; do kill -9 "$pid" 2>/dev/null || true; done
  rm -f "$state/env.sh"
}

start() {
  [ -f "$model" ] || { echo "the bundled model is missing: $model" >&2; exit 1; }
  stop
  mkdir -p "$state"
  # A block of free ports: RPC base..base+3, P2P base+10..+13, gateway base+20, the error tests'
  # gateways base+21..+23, miner metrics base+30..+32. Below the kernel's ephemeral range
  # (32768+), so outgoing connections of other tests running meanwhile cannot take them.
  local base=""
  for _ in $(seq 40); do
    local b=$(( (RANDOM % 1200) * 10 + 20000 )) busy=0
    for off in 0 1 2 3 10 11 12 13 20 21 22 23 30 31 32; do listening $((b + off)) && busy=1; done
    [ "$busy" = 0 ] && { base=$b; break; }
  done
  [ -n "$base" ] || { echo "no free port block found" >&2; exit 1; }
  local home="$state/devnet" out="$state/devnet.out"
  rm -rf "$home"
  INFERGRID_PASSWORD="${INFERGRID_PASSWORD:-devnet-password}" "$bin/infergridd" devnet --home "$home" --model "$model" \
    --port "$base" --p2p-port $((base + 10)) --gateway-port $((base + 20)) --worker-metrics-port $((base + 30)) \
    --tasks 6 --epochs 1 --keep >"$out" 2>&1 &
  local launcher=$!
  # The devnet returns once every task is final and an epoch paid incentive; its last lines
  # name the processes it leaves running.
  for _ in $(seq 600); do
    if grep -q "Stop it with: kill" "$out"; then break; fi
    if ! kill -0 "$launcher" 2>/dev/null; then
      grep -q "Stop it with: kill" "$out" && break
      echo "the devnet failed:" >&2; tail -30 "$out" >&2; exit 1
    fi
    sleep 0.5
  done
  grep -q "Stop it with: kill" "$out" || { echo "the devnet did not finish in 300 s" >&2; tail -30 "$out" >&2; exit 1; }
  wait "$launcher" || true
  local pids
  pids="$(grep "Stop it with: kill" "$out" | sed 's/.*kill//')"
  cat >"$state/env.sh" <<EOF
DEVNET_HOME=$home
DEVNET_PIDS="$pids"
NODE_PORT=$base
NODE_URL=http://127.0.0.1:$base
NODE_WS=ws://127.0.0.1:$base
GATEWAY_URL=http://127.0.0.1:$((base + 20))
SPARE_PORT_1=$((base + 21))
SPARE_PORT_2=$((base + 22))
SPARE_PORT_3=$((base + 23))
MINER_METRICS_URL=http://127.0.0.1:$((base + 30))/metrics
MODEL=$model
BIN_DIR=$bin
export DEVNET_HOME DEVNET_PIDS NODE_PORT NODE_URL NODE_WS GATEWAY_URL SPARE_PORT_1 SPARE_PORT_2 SPARE_PORT_3 MINER_METRICS_URL MODEL BIN_DIR
EOF
  echo "devnet up: node $base, gateway $((base + 20)); pids $pids"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop BIN_DIR STATE_DIR" >&2; exit 2 ;;
esac
