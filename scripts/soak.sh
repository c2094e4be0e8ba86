#!/usr/bin/env bash
# Soak run (issue 11): a 4-node Raft testnet under steady load for SOAK_MINUTES (default 30),
# every node's memory and disk sampled every SOAK_SAMPLE_SECS (default 30) with
# `vchain-testnet usage --csv`, then judged by `vchain-testnet soak-report`: every part (the
# consensus log in memory, mempool, memtables, block cache, write-ahead log) within the bound
# the node's configuration sets; resident memory in the last third of the run at most 10% above
# the middle third's (it levels off); the data directory per stored block byte likewise (disk
# stays proportional to the chain's data). Release build, as users run it.
#
# Usage: scripts/soak.sh [minutes]
# Env:   SOAK_RATE        submissions per second (default 300)
#        SOAK_ACCOUNTS    load accounts (default 200)
#        SOAK_SAMPLE_SECS seconds between samples (default 30)
#        SOAK_CONFIG      a TOML overlay for every node's config (e.g. a smaller [storage])
#        SOAK_DIR         where the testnet and samples.csv go (default: a new temp dir, kept)
# The samples stay in $SOAK_DIR/samples.csv and the report in $SOAK_DIR/report.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:-${SOAK_MINUTES:-30}}"
rate="${SOAK_RATE:-300}"
accounts="${SOAK_ACCOUNTS:-200}"
every="${SOAK_SAMPLE_SECS:-30}"
case "$minutes$rate$accounts$every" in *[!0-9]*) echo "soak: numbers only" >&2; exit 2;; esac
[ "$minutes" -ge 1 ] && [ "$every" -ge 1 ] || { echo "soak: minutes and sample seconds must be >= 1" >&2; exit 2; }

scripts/setup.sh
source scripts/env.sh
echo "== building the workspace (release)"
cargo build --workspace --release --locked -q
bin="$CARGO_TARGET_DIR/release"
dir="${SOAK_DIR:-$(mktemp -d)}"
mkdir -p "$dir"
net="$dir/net"
samples="$dir/samples.csv"
testnet() { "$bin/vchain-testnet" --dir "$net" "$@"; }
bench_pid=""
cleanup() {
  [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null || true
  testnet down >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== a 4-node testnet in $net"
testnet up --nodes 4 ${SOAK_CONFIG:+--config-overlay "$SOAK_CONFIG"}
endpoints=$(testnet status | awk '$1 ~ /^node-/ {print $3}' | paste -sd, -)
echo "== load: $rate tx/s from $accounts accounts for $minutes min over $endpoints"
"$bin/vchain-bench" --endpoints "$endpoints" --keystore "$net/keystore.json" \
  --accounts "$accounts" --rate "$rate" --duration-secs $((minutes * 60)) \
  >"$dir/bench.log" 2>&1 &
bench_pid=$!

echo "unix_ms,node,height,resident_bytes,consensus_log_bytes,mempool_bytes,memtable_bytes,block_cache_bytes,wal_bytes,table_bytes,block_bytes,data_dir_bytes,checkpoint_log_index" >"$samples"
# Bounded: one sample per period until the load ends, and never past its planned end + 10 min
# (the bench's setup registers and funds the accounts first).
deadline=$(( $(date +%s) + minutes * 60 + 600 ))
while kill -0 "$bench_pid" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do
  testnet usage --csv >>"$samples" || true
  tail -n 4 "$samples" | awk -F, '{printf "  %s h=%s rss=%.0fMiB log=%.1fMiB wal=%.1fMiB dir=%.0fMiB blocks=%.0fMiB\n", $2, $3, $4/1048576, $5/1048576, $9/1048576, $12/1048576, $11/1048576}'
  sleep "$every"
done
if kill -0 "$bench_pid" 2>/dev/null; then
  echo "soak: the load did not end by its deadline" >&2
  exit 1
fi
bench_status=0
wait "$bench_pid" || bench_status=$?
bench_pid=""
echo "== load result"
tail -n 3 "$dir/bench.log"
echo "== usage at the end"
testnet usage
echo "== judgement"
report_status=0
testnet soak-report "$samples" | tee "$dir/report.txt" || report_status=$?
echo "samples: $samples  report: $dir/report.txt  bench log: $dir/bench.log"
if grep -l "panicked at" "$net"/node-*/node.log 2>/dev/null; then
  echo "soak: a node panicked (see the files above)" >&2
  exit 1
fi
[ "$bench_status" -eq 0 ] || { echo "soak: the load generator failed ($bench_status)" >&2; exit 1; }
exit "$report_status"
