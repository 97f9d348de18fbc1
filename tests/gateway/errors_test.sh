#!/usr/bin/env bash
# Every error status of the gateway, at the curl level, against the fixture's devnet
# (docs/gateway.md, "Errors"): 400, 401, 403, 404, 405, 413, 415, 429, 503 and 504, each in
# OpenAI's error shape {"error": {"message", "type", "param", "code"}}.
#
# Besides the devnet's own gateway (open on loopback) it starts two more on the spare ports:
# one with API keys, a low fee limit and a rate limit, one with a 0.3 s timeout.
#   errors_test.sh STATE_DIR
set -uo pipefail
state="$1"
# shellcheck disable=SC1091
. "$state/env.sh"
command -v curl >/dev/null && command -v jq >/dev/null || { echo "SKIP: curl and jq are needed (scripts/setup)"; exit 77; }
export INFERGRID_PASSWORD="${INFERGRID_PASSWORD:-devnet-password}"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

failures=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; failures=$((failures + 1)); }

# expect STATUS CODE WHAT CURL-ARGS...: the status, an OpenAI error object, and its code.
expect() {
  local want="$1" code="$2" what="$3"; shift 3
  local status
  status="$(curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' --max-time 60 "$@")"
  if [ "$status" != "$want" ]; then bad "$what: status $status, want $want: $(head -c 300 "$tmp/body")"; return; fi
  if ! jq -e '.error | has("message") and has("type") and has("param") and has("code")' "$tmp/body" >/dev/null 2>&1; then
    bad "$what: $want without the OpenAI error shape: $(head -c 300 "$tmp/body")"; return
  fi
  local got
  got="$(jq -r '.error.code // ""' "$tmp/body")"
  if [ -n "$code" ] && [ "$got" != "$code" ]; then bad "$what: code '$got', want '$code'"; return; fi
  ok "$what: $want $got"
}

json=(-H 'Content-Type: application/json')
G="$GATEWAY_URL"
K="test-key-0123456789abcdef"
echo "$K tester" >"$tmp/keys"

start_gateway() {  # VAR PORT WALLET_DIR ACCOUNT ARGS...: sets VAR to the port it listens on
  local var="$1" port="$2" wallet="$3" account="$4"; shift 4
  local attempt
  for attempt in 1 2 3 4 5; do
    "$BIN_DIR/infergridd" gateway --node "$NODE_WS" --account "$account" --wallet-dir "$wallet" --model "$MODEL" \
      --listen "127.0.0.1:$port" "$@" >"$tmp/gateway-$port.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 100); do
      if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health")" = 200 ]; then
        printf -v "$var" '%s' "$port"; return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    # A spare port taken since the fixture chose it (another test runs beside this one): try another.
    if grep -q "Address already in use" "$tmp/gateway-$port.log"; then
      port=$(( (RANDOM % 1200) * 10 + 20005 )); continue
    fi
    break
  done
  echo "gateway on $port did not start (attempt $attempt):"; cat "$tmp/gateway-$port.log"; exit 1
}
# Keys, a fee limit of 1,000 (10 tokens at 100), 20 requests a minute.
start_gateway KG_PORT "$SPARE_PORT_1" "$DEVNET_HOME/wallet" user --api-keys-file "$tmp/keys" --fee-limit 1000 --rate-limit 20
KG="http://127.0.0.1:$KG_PORT"
auth=(-H "Authorization: Bearer $K")
# Answers within 0.3 s or not at all: a verified answer takes a few blocks.
start_gateway TG_PORT "$SPARE_PORT_2" "$DEVNET_HOME/node0/wallet" dev --timeout 0.3
TG="http://127.0.0.1:$TG_PORT"

# A registered model no miner serves: 503.
orphan="orphan-$RANDOM$RANDOM"
"$BIN_DIR/infergrid-wallet" --wallet-dir "$DEVNET_HOME/node0/wallet" --node "$NODE_WS" register-model --from validator \
  --model-id "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" --name "$orphan" --architecture llama \
  --price-per-token 100 --context-limit 512 --wait >/dev/null || { echo "registering $orphan failed"; exit 1; }
for _ in $(seq 50); do  # the gateways refresh their registry on model_registered
  curl -s "$G/v1/models" | jq -e --arg n "$orphan" '.data[] | select(.infergrid.name == $n)' >/dev/null && break
  sleep 0.2
done

ok_body='{"model":"stories260K","prompt":"Once upon a time","max_tokens":4,"temperature":0}'

# 400: bad requests of every kind.
expect 400 invalid_json "body is not JSON" "${json[@]}" -d '{"model": "stories260K", "prompt": ' "$G/v1/completions"
expect 400 invalid_json "body is an array" "${json[@]}" -d '[1,2]' "$G/v1/completions"
expect 400 missing_required_parameter "no model" "${json[@]}" -d '{"prompt":"x"}' "$G/v1/completions"
expect 400 missing_required_parameter "no prompt" "${json[@]}" -d '{"model":"stories260K"}' "$G/v1/completions"
expect 400 missing_required_parameter "no messages" "${json[@]}" -d '{"model":"stories260K"}' "$G/v1/chat/completions"
expect 400 invalid_value "max_tokens 0" "${json[@]}" -d '{"model":"stories260K","prompt":"x","max_tokens":0}' "$G/v1/completions"
expect 400 invalid_value "max_tokens 1.5" "${json[@]}" -d '{"model":"stories260K","prompt":"x","max_tokens":1.5}' "$G/v1/completions"
expect 400 invalid_value "temperature 3" "${json[@]}" -d '{"model":"stories260K","prompt":"x","temperature":3}' "$G/v1/completions"
expect 400 invalid_value "top_p 1.5" "${json[@]}" -d '{"model":"stories260K","prompt":"x","top_p":1.5}' "$G/v1/completions"
expect 400 invalid_value "negative seed" "${json[@]}" -d '{"model":"stories260K","prompt":"x","seed":-1}' "$G/v1/completions"
expect 400 unsupported_parameter "n = 2" "${json[@]}" -d '{"model":"stories260K","prompt":"x","n":2}' "$G/v1/completions"
expect 400 unsupported_parameter "tools" "${json[@]}" -d '{"model":"stories260K","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]}' "$G/v1/chat/completions"
expect 400 invalid_value "unknown role" "${json[@]}" -d '{"model":"stories260K","messages":[{"role":"wizard","content":"x"}]}' "$G/v1/chat/completions"
expect 400 invalid_value "image content" "${json[@]}" -d '{"model":"stories260K","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}' "$G/v1/chat/completions"
head -c 17000 /dev/zero | tr '\0' 'a' >"$tmp/long"
jq -n --rawfile p "$tmp/long" '{model:"stories260K",prompt:$p,max_tokens:4}' >"$tmp/long.json"
expect 400 context_length_exceeded "prompt over 16 KiB" "${json[@]}" --data-binary "@$tmp/long.json" "$G/v1/completions"
expect 400 fee_limit_exceeded "max_tokens above the fee limit" "${json[@]}" "${auth[@]}" -d '{"model":"stories260K","prompt":"x","max_tokens":20}' "$KG/v1/completions"
expect 400 context_length_exceeded "max_tokens beyond the context" "${json[@]}" -d '{"model":"stories260K","prompt":"x","max_tokens":600}' "$G/v1/completions"

# 401: keys configured, none or a wrong one given.
expect 401 invalid_api_key "no API key" "${json[@]}" -d "$ok_body" "$KG/v1/completions"
expect 401 invalid_api_key "wrong API key" "${json[@]}" -H "Authorization: Bearer wrong-key-0123456789" -d "$ok_body" "$KG/v1/completions"
expect 401 invalid_api_key "models need a key too" "$KG/v1/models"
grep -qi '^www-authenticate: Bearer' "$tmp/headers" && ok "401 carries WWW-Authenticate" || bad "401 without WWW-Authenticate"
status="$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$KG/v1/models")"
[ "$status" = 200 ] && ok "the right key lists the models" || bad "the right key got $status"

# 403: a web page on another site (or a rebound DNS name) must not spend the gateway's account.
expect 403 forbidden "foreign Origin" "${json[@]}" -H 'Origin: http://evil.example' -d "$ok_body" "$G/v1/completions"
expect 403 forbidden "DNS-rebound Host" "${json[@]}" -H 'Host: evil.example' -d "$ok_body" "$G/v1/completions"

# 404: unknown model, unknown path, unknown model id.
expect 404 model_not_found "unknown model" "${json[@]}" -d '{"model":"no-such-model","prompt":"x"}' "$G/v1/completions"
expect 404 model_not_found "unknown model (chat)" "${json[@]}" -d '{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}' "$G/v1/chat/completions"
expect 404 model_not_found "unknown model id" "$G/v1/models/0000000000000000000000000000000000000000000000000000000000000000"
expect 404 unknown_url "unknown path" "$G/v1/embeddings"

# 405, 413, 415.
expect 405 method_not_allowed "GET on completions" "$G/v1/completions"
grep -qi '^allow: POST' "$tmp/headers" && ok "405 carries Allow: POST" || bad "405 without Allow"
head -c 1100000 /dev/zero | tr '\0' 'a' >"$tmp/huge"
expect 413 body_too_large "body over 1 MiB" "${json[@]}" --data-binary "@$tmp/huge" "$G/v1/completions"
expect 415 unsupported_media_type "form content type" -d "$ok_body" "$G/v1/completions"

# 503: a registered model no miner serves.
expect 503 no_miner "no miner serves $orphan" "${json[@]}" -d "{\"model\":\"$orphan\",\"prompt\":\"x\",\"max_tokens\":4}" "$G/v1/completions"

# 504: the timeout passes before the task is verified.
expect 504 timeout "answer slower than the timeout" "${json[@]}" -d "$ok_body" "$TG/v1/completions"
# The same, streamed: the headers went out when the task was submitted, so the error arrives in
# the stream as OpenAI sends one.
curl -sN --max-time 30 "${json[@]}" -d '{"model":"stories260K","prompt":"x","max_tokens":4,"stream":true}' "$TG/v1/completions" >"$tmp/stream"
if grep -q '"code":"timeout"' "$tmp/stream"; then ok "a streamed timeout arrives as an error event"; else bad "streamed timeout: $(head -c 300 "$tmp/stream")"; fi

# 429: the rate limit (20 a minute, burst 20) with Retry-After.
got429=0
for _ in $(seq 40); do
  status="$(curl -s -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "${auth[@]}" "$KG/v1/models")"
  if [ "$status" = 429 ]; then got429=1; break; fi
done
if [ "$got429" = 1 ] && jq -e '.error.code == "rate_limit_exceeded"' "$tmp/body" >/dev/null && grep -qi '^retry-after: [0-9]' "$tmp/headers"; then
  ok "429 rate_limit_exceeded with Retry-After"
else
  bad "no 429 within 40 requests at 20 a minute: $(head -c 200 "$tmp/body")"
fi
# Other keys (and the open gateway) are not affected.
expect 404 model_not_found "another gateway still answers" "${json[@]}" -d '{"model":"no-such-model","prompt":"x"}' "$G/v1/completions"

# A good request still works after all of that.
status="$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 120 "${json[@]}" -d "$ok_body" "$G/v1/completions")"
[ "$status" = 200 ] && jq -e '.infergrid.verified' "$tmp/body" >/dev/null && ok "a good request after the bad ones: 200, verified" \
  || bad "a good request after the bad ones: $status $(head -c 200 "$tmp/body")"

echo "$failures failed"
[ "$failures" = 0 ]
