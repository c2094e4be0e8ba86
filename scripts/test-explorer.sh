#!/usr/bin/env bash
# Tests the web explorer (`vchain explorer`) in a real headless browser: starts a fresh dev node
# and two explorers on loopback (one reading as the regulator, one as the supplier castings), a
# 4-node PBFT testnet with a third explorer (blocks with real commit certificates), and runs
# scripts/explorer_test.py, which makes a voucher lineage with the CLI, loads every
# page in headless Chromium, follows the lineage by clicking, waits for a new block to appear
# live and checks the pages at phone width. Screenshots of every page at laptop and phone size
# are kept in the artefact directory.
#
# Installs what is missing: chromium and chromium-driver (apt, with sudo when not root) and
# selenium (pip, into the Python wallet's virtualenv, made as scripts/test-python.sh makes it).
#
# Usage: scripts/test-explorer.sh [--bless]
#   --bless   also copies the laptop screenshot of a voucher's lineage (laptop-lineage.png) to docs/explorer.png
#             (the README's picture)
# Env:   VCHAIN_BIN_DIR     use the vchain-node and vchain binaries there instead of building
#        VCHAIN_VENV        the virtualenv (default $CARGO_TARGET_DIR/python-venv)
#        EXPLORER_ARTEFACTS where screenshots go (default $CARGO_TARGET_DIR/test-artefacts/explorer)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bless=false
case "${1:-}" in
  "") ;;
  --bless) bless=true ;;
  *) echo "usage: scripts/test-explorer.sh [--bless]" >&2; exit 2 ;;
esac

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"

# Chromium from the system packages, and its WebDriver.
need_apt=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test-explorer.sh: installing ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# selenium in the project's virtualenv (the one scripts/test-python.sh makes).
python="${PYTHON:-python3}"
venv="${VCHAIN_VENV:-$CARGO_TARGET_DIR/python-venv}"
if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    echo "test-explorer.sh: installing python$version-venv" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "python$version-venv" >/dev/null
    rm -rf "$venv"
    "$python" -m venv "$venv"
  fi
fi
if ! "$venv/bin/python" -c 'import selenium' >/dev/null 2>&1; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'selenium>=4.11,<5'
fi

if [ -z "${VCHAIN_BIN_DIR:-}" ]; then
  # The same build as scripts/test.sh's `cargo test` (nothing to do right after it).
  cargo test --workspace --locked --release --no-run -q
  VCHAIN_BIN_DIR="$CARGO_TARGET_DIR/release"
fi
bin="$VCHAIN_BIN_DIR"
artefacts="${EXPLORER_ARTEFACTS:-$CARGO_TARGET_DIR/test-artefacts/explorer}"
rm -rf "$artefacts"
mkdir -p "$artefacts"

work=$(mktemp -d)
pids=()
testnet_up=false
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if $testnet_up; then "$bin/vchain-testnet" --dir "$work/pbft" down >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits (bounded) until `$@` succeeds, failing with the log when process $pid died.
wait_for() {
  local what=$1 pid=$2 log=$3; shift 3
  for _ in $(seq 1 150); do
    "$@" >/dev/null 2>&1 && return 0
    if ! kill -0 "$pid" 2>/dev/null; then echo "test-explorer.sh: $what died; its log:" >&2; cat "$log" >&2; exit 1; fi
    sleep 0.2
  done
  echo "test-explorer.sh: $what not ready after 30 s; its log:" >&2; cat "$log" >&2; exit 1
}
http_ok() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2).read()' "$1"; }

node_port=$(free_port)
"$bin/vchain-node" dev --data-dir "$work/node" --grpc-listen "127.0.0.1:$node_port" --reset \
  >"$work/node.accounts" 2>"$work/node.log" &
pids+=($!)
export VCHAIN_ENDPOINT="http://127.0.0.1:$node_port" VCHAIN_KEYSTORE="$work/node/keystore.json" VCHAIN_PASSPHRASE=dev
wait_for "the dev node" "${pids[-1]}" "$work/node.log" "$bin/vchain" status

start_explorer() {
  # Global options, then `--` and the explorer's own.
  local name=$1 port=$2; shift 2
  local global=() own=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do global+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  own=("$@")
  "$bin/vchain" "${global[@]}" explorer --listen "127.0.0.1:$port" "${own[@]}" >"$work/explorer-$name.log" 2>&1 &
  pids+=($!)
  wait_for "the explorer $name" "${pids[-1]}" "$work/explorer-$name.log" http_ok "http://127.0.0.1:$port/api/status"
}
explorer_port=$(free_port)
start_explorer regulator "$explorer_port" --reader regulator -- --genesis "$work/node/genesis.toml"
castings_port=$(free_port)
start_explorer castings "$castings_port" --reader castings

# A PBFT consortium of four nodes, whose blocks carry commit certificates: the explorer's
# "verified" marks are checked against real ones.
testnet_up=true
"$bin/vchain-testnet" --dir "$work/pbft" up --nodes 4 --consensus pbft >"$work/pbft.log" 2>&1
pbft_endpoint=$("$bin/vchain-testnet" --dir "$work/pbft" status | awk '$1 == "node-1" {print $3}')
pbft_port=$(free_port)
start_explorer pbft "$pbft_port" --reader regulator --endpoint "$pbft_endpoint" --keystore "$work/pbft/keystore.json" -- --genesis "$work/pbft/genesis.toml"

timeout 240 "$venv/bin/python" scripts/explorer_test.py \
  --url "http://127.0.0.1:$explorer_port" --url-castings "http://127.0.0.1:$castings_port" \
  --endpoint "$VCHAIN_ENDPOINT" --keystore "$VCHAIN_KEYSTORE" --bin-dir "$bin" --artefacts "$artefacts" \
  --url-pbft "http://127.0.0.1:$pbft_port" --endpoint-pbft "$pbft_endpoint" --keystore-pbft "$work/pbft/keystore.json"

if $bless; then
  cp "$artefacts/laptop-lineage.png" docs/explorer.png
  echo "test-explorer.sh: docs/explorer.png updated from $artefacts/laptop-lineage.png"
fi
