#!/usr/bin/env bash
# A node's resident memory with a million vouchers in its state (issue 16, "Memory"): writes a
# data directory whose state holds VOUCHERS vouchers (`vchain-state-fixture`, through the node's
# own block pipeline), starts `vchain-node run` on it, samples its resident memory (VmRSS) idle,
# then every second while `vchain-bench` drives it for LOAD_SECS, and prints the figures. The
# target is under 1 GiB. Release build, as users run it.
#
# Usage: scripts/bench-state-memory.sh [vouchers]
# Env:   LOAD_SECS      seconds of load (default 60)
#        LOAD_ACCOUNTS  vchain-bench accounts (default 500)
#        MEMORY_DIR     where the data directory goes (default: a new temp dir, removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
vouchers="${1:-1000000}"
load_secs="${LOAD_SECS:-60}"
accounts="${LOAD_ACCOUNTS:-500}"
case "$vouchers$load_secs$accounts" in *[!0-9]*) echo "bench-state-memory: numbers only" >&2; exit 2;; esac

scripts/setup.sh
source scripts/env.sh
echo "== building the workspace (release)"
cargo build --workspace --release --locked -q
bin="$CARGO_TARGET_DIR/release"
keep="${MEMORY_DIR:+yes}"
dir="${MEMORY_DIR:-$(mktemp -d)}/node"
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null || true
  [ -z "$keep" ] && rm -rf "$(dirname "$dir")" || true
}
trap cleanup EXIT

grpc="127.0.0.1:7350"
echo "== writing a ledger with $vouchers vouchers into $dir"
"$bin/vchain-state-fixture" --dir "$dir" --vouchers "$vouchers" --grpc-listen "$grpc" \
  --metrics-listen 127.0.0.1:9350
du -sh "$dir/ledger" | sed 's/^/ledger on disk: /'

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$node_pid/status"; }
echo "== starting the node"
"$bin/vchain-node" run --config "$dir/config.toml" > "$dir/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 1 120); do
  curl -sf http://127.0.0.1:9350/readyz >/dev/null 2>&1 && break
  kill -0 "$node_pid" 2>/dev/null || { echo "the node exited:" >&2; tail -20 "$dir/node.log" >&2; exit 1; }
  sleep 1
done
curl -sf http://127.0.0.1:9350/readyz >/dev/null || { echo "the node never became ready" >&2; exit 1; }
sleep 5
idle=$(rss_kib)
echo "idle after start: $((idle / 1024)) MiB resident"

echo "== $load_secs s of vchain-bench load ($accounts accounts)"
"$bin/vchain-bench" --endpoints "http://$grpc" --keystore "$dir/keystore.json" \
  --accounts "$accounts" --duration-secs "$load_secs" > "$dir/bench.log" 2>&1 &
bench_pid=$!
peak=$idle
while kill -0 "$bench_pid" 2>/dev/null; do
  now=$(rss_kib)
  [ "$now" -gt "$peak" ] && peak=$now
  sleep 1
done
wait "$bench_pid" || { echo "vchain-bench failed:" >&2; tail -20 "$dir/bench.log" >&2; exit 1; }
last=$(rss_kib)
tail -6 "$dir/bench.log"
echo "== $vouchers vouchers in state: resident idle $((idle / 1024)) MiB, peak under load $((peak / 1024)) MiB, after $((last / 1024)) MiB (target: under 1024 MiB)"
[ "$peak" -lt $((1024 * 1024)) ] || { echo "over 1 GiB" >&2; exit 1; }
