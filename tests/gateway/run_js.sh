#!/usr/bin/env bash
# Runs one of the JavaScript tests against the fixture's devnet:
#   run_js.sh STATE_DIR JS_DIR SCRIPT.mjs [ARGS...]
# Exit 77 (ctest: skipped) with a message when Node.js is missing or the npm packages cannot be
# installed (no registry); scripts/setup --tests installs them into JS_DIR beforehand.
set -uo pipefail
state="$1" js="$2" script="$3"
shift 3
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "SKIP: node is not installed (scripts/setup --tests)"; exit 77; }
if [ ! -d "$js/node_modules/openai" ] || [ ! -d "$js/node_modules/playwright-core" ] || [ ! -d "$js/node_modules/parse-prometheus-text-format" ]; then
  command -v npm >/dev/null || { echo "SKIP: npm is not installed (scripts/setup --tests)"; exit 77; }
  mkdir -p "$js" && cp "$here/package.json" "$here/package-lock.json" "$js/"
  if ! (cd "$js" && timeout 300 npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1); then
    echo "SKIP: the npm packages could not be installed (is the npm registry reachable?)"
    exit 77
  fi
fi
[ -f "$state/env.sh" ] || { echo "the devnet fixture is not running ($state/env.sh missing)"; exit 1; }
# shellcheck disable=SC1091
. "$state/env.sh"
export IG_JS_DIR="$js" IG_STATE_DIR="$state"
exec node "$here/$script" "$@"
