#!/usr/bin/env bash
# Catch-up rate (issue 16): a 4-node testnet commits transactions while one node is stopped;
# the node is started again and timed until it holds the others' height. The rate is the
# transactions it was behind over that time (its process start included). Which path it takes
# (the leader's log entries, or a state snapshot plus the blocks after it) depends on how far
# behind it is against the leader's compacted log (`snapshot_interval`); the node log says.
# Release build, as users run it; everything on this machine's cores.
#
# Usage: scripts/bench-catch-up.sh [load seconds]
# Env:   CATCHUP_ENGINE    raft or pbft (default raft)
#        CATCHUP_ACCOUNTS  vchain-bench accounts (default 200), each CATCHUP_IN_FLIGHT (default 4)
#        CATCHUP_DIR       where the testnet goes (default: a new temp dir, removed after)
set -euo pipefail
cd "$(dirname "$0")/.."
load_secs="${1:-60}"
engine="${CATCHUP_ENGINE:-raft}"
accounts="${CATCHUP_ACCOUNTS:-200}"
in_flight="${CATCHUP_IN_FLIGHT:-4}"
case "$load_secs$accounts$in_flight" in *[!0-9]*) echo "bench-catch-up: numbers only" >&2; exit 2;; esac

scripts/setup.sh
source scripts/env.sh
echo "== building the workspace (release)"
cargo build --workspace --release --locked -q
bin="$CARGO_TARGET_DIR/release"
keep="${CATCHUP_DIR:+yes}"
dir="${CATCHUP_DIR:-$(mktemp -d)}"
net="$dir/net"
testnet() { "$bin/vchain-testnet" --dir "$net" "$@"; }
cleanup() {
  testnet down >/dev/null 2>&1 || true
  [ -z "$keep" ] && rm -rf "$dir" || true
}
trap cleanup EXIT

echo "== a 4-node $engine testnet in $net"
testnet up --nodes 4 --consensus "$engine" >/dev/null
endpoints=$(testnet status | awk '$1 ~ /^node-[123]$/ {print $3}' | paste -sd, -)
height_of() { testnet status | awk -v n="$1" '$1 == n {print $4}'; }
top_height() { testnet status | awk '$1 ~ /^node-[123]$/ && $4 ~ /^[0-9]+$/ {print $4}' | sort -n | tail -1; }

echo "== node-4 stopped; $load_secs s of transfers over $endpoints"
testnet stop 4
start_height=$(top_height)
"$bin/vchain-bench" --endpoints "$endpoints" --keystore "$net/keystore.json" --workload transfer \
  --accounts "$accounts" --in-flight "$in_flight" --warmup-secs 0 --duration-secs "$load_secs" \
  >"$dir/bench.log" 2>&1 || { echo "vchain-bench failed:" >&2; tail -20 "$dir/bench.log" >&2; exit 1; }
behind=$(awk '/^load:/ {print $4; exit}' "$dir/bench.log")
sleep 2
target=$(top_height)
echo "node-4 behind by $((target - start_height)) blocks and $behind committed transactions (plus setup's)"

echo "== node-4 started again"
started=$(date +%s%N)
testnet start 4 >/dev/null
deadline=$(( $(date +%s) + 900 ))
while :; do
  h=$(height_of node-4)
  case "$h" in ''|*[!0-9]*) h=0;; esac
  [ "$h" -ge "$target" ] && break
  [ "$(date +%s)" -lt "$deadline" ] || { echo "node-4 at $h of $target after 900 s" >&2; exit 1; }
  sleep 0.2
done
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "== node-4 caught up $((target - start_height)) blocks, $behind transactions, in $((elapsed_ms / 1000)).$(( (elapsed_ms % 1000) / 100 )) s: $(( behind * 1000 / (elapsed_ms > 0 ? elapsed_ms : 1) )) tx/s"
grep -hE "snapshot|install" "$net"/node-4/node.log 2>/dev/null | tail -3 || true
