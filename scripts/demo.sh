#!/usr/bin/env bash
# The main demo: starts a consortium of four Raft nodes (or PBFT nodes, with --consensus pbft) on
# loopback (`vchain-testnet up`, one process per bank node) and walks a digital debt voucher through its life across the nodes:
# a credit line and the issuance through node 1, a split and payments down the supply chain
# through node 2, a double spend refused, a piece pledged to a bank and locked, a supplier's
# signed read of another's voucher refused, a sensor fleet's scripted breach alerting the pledgee,
# the leader killed -9 mid-story and the chain carrying
# on, the killed node restarted and catching up, redemption at maturity, the auditor's
# trace from node 3 and its bundle of proofs checked offline against genesis (`vchain verify`),
# every node ending at the same height and state root.
#
# Usage: scripts/demo.sh [--keep] [--consensus raft|pbft]
#   --keep       leaves the testnet running afterwards
#   --consensus  the engine genesis chooses (default raft); either way every block carries a
#                commit certificate, shown and checked by `vchain block get`
# Env:   VCHAIN_TESTNET_DIR (default: a new temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
consensus=raft
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=true; shift;;
    --consensus) consensus="$2"; shift 2;;
    *) echo "usage: scripts/demo.sh [--keep] [--consensus raft|pbft]" >&2; exit 2;;
  esac
done
case "$consensus" in raft|pbft) ;; *) echo "demo: --consensus is raft or pbft" >&2; exit 2;; esac

scripts/setup.sh
source scripts/env.sh
echo "== building vchain-testnet, vchain-node and vchain (first build compiles RocksDB: ~20 min on 2 cores)"
cargo build --workspace --bins --locked --release -q
bin="$CARGO_TARGET_DIR/release"
dir="${VCHAIN_TESTNET_DIR:-$(mktemp -d)/testnet}"
net() { "$bin/vchain-testnet" --dir "$dir" "$@"; }
cleanup() { if ! $keep; then net down >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
step "vchain-testnet up --nodes 4 --consensus $consensus"
net up --nodes 4 --consensus "$consensus"
endpoint() { net status | awk -v n="node-$1" '$1 == n {print $3}'; }
leader() { net status | awk '$1 ~ /^node-/ && $5 ~ /^node-/ {print $5; exit}' | sed 's/node-//'; }
# Reads are signed: the demo reads as the regulator, an auditor who may see everything.
export VCHAIN_KEYSTORE="$dir/keystore.json" VCHAIN_PASSPHRASE=dev VCHAIN_READER=regulator
v() { local node=$1; shift; printf '$ vchain --endpoint %s %s\n' "$(endpoint "$node")" "$*"; "$bin/vchain" --endpoint "$(endpoint "$node")" "$@"; }
created() {
  local node=$1; shift
  local ids
  ids=$("$bin/vchain" --endpoint "$(endpoint "$node")" "$@" --json | awk -F'"' '/"kind":/ {kind=$4} /"voucher_id":/ {if (kind ~ /VOUCHER_(ISSUED|CREATED_BY_SPLIT)/) print $4}' | xargs)
  [ -n "$ids" ] || { echo "demo: 'vchain $*' on node $node created no voucher" >&2; exit 1; }
  echo "$ids"
}
uscc_of() { "$bin/vchain" --endpoint "$(endpoint 1)" account get "$1" --json | sed -n 's/.*"uscc": "\([^"]*\)".*/\1/p'; }
hash_of() { printf '%s' "$1" | sha256sum | cut -c1-64; }
bank=$(uscc_of bank-a-finance); carmaker=$(uscc_of carmaker)

step "node 1: Bank A grants the carmaker a credit line of CNY 5,000,000.00 (amounts in fen)"
v 1 credit-line grant --as bank-a-finance --core "$carmaker" --currency CNY --limit 500000000
step "node 1: the carmaker issues a CNY 1,000,000.00 voucher to its tier-1 supplier"
root=$(created 1 voucher issue --as carmaker --holder gearbox --financier "$bank" --amount 100000000 \
  --maturity "$(date -u -d '+30 days' +%F)" --doc-kind invoice --doc-number INV-TN-0001 \
  --doc-hash "$(hash_of INV-TN-0001)")
echo "issued $root"

step "node 2: tier 1 splits it and pays its tier-2 supplier; tier 2 splits and pays tier 3"
read -r a b <<<"$(created 2 voucher split "$root" --as gearbox --amounts 70000000,30000000)"
echo "split $root -> $a $b"
v 2 voucher transfer "$a" --as gearbox --to castings --agreement-hash "$(hash_of "agreement $a")"
read -r c d <<<"$(created 2 voucher split "$a" --as castings --amounts 50000000,20000000)"
echo "split $a -> $c $d"
v 2 voucher transfer "$d" --as castings --to foundry --agreement-hash "$(hash_of "agreement $d")"

step "node 4: a double spend — castings no longer holds $d (exit code 3: rejected by the chain)"
set +e
"$bin/vchain" --endpoint "$(endpoint 4)" voucher transfer "$d" --as castings --to gearbox --agreement-hash "$(hash_of "again $d")"
echo "exit code $?"
set -e

step "node 1: tier 2 pledges its other piece $c to Bank A for a loan; pledged, it cannot move"
v 1 pledge register "$c" --as castings --pledgee bank-a-finance --amount 40000000 \
  --until "$(date -u -d '+20 days' +%F)" --collateral "working capital loan LC-TN-1"
set +e
"$bin/vchain" --endpoint "$(endpoint 1)" voucher transfer "$c" --as castings --to foundry --agreement-hash "$(hash_of "pledged $c")"
echo "exit code $?"
set -e
v 3 pledge get --voucher "$c"

step "node 1: a warehouse's IoT fleet watches a lot pledged to Bank A; a gate reports goods leaving below the floor and the bank is alerted"
"$bin/vchain-sensors" --dir "$dir" --endpoint "$(endpoint 1)" --devices 3 --readings 2 --breach-at 1 --run 1

step "node 2: reads are signed and answered by what the reader may see: castings cannot read gearbox's piece $b"
set +e
"$bin/vchain" --endpoint "$(endpoint 2)" --reader castings voucher get "$b"
echo "exit code $?"
set -e

killed=$(leader)
if [ "$consensus" = pbft ]; then
  step "kill -9 the primary (node $killed): the other three change views and carry on"
else
  step "kill -9 the leader (node $killed): the other three elect a new one and carry on"
fi
net kill "$killed"
alive=1; [ "$killed" = 1 ] && alive=2
for _ in $(seq 1 100); do
  l=$(leader); [ -n "$l" ] && [ "$l" != "$killed" ] && break; sleep 0.2
done
echo "new leader: node-$(leader)"
v "$alive" voucher transfer "$d" --as foundry --to bank-b-factoring --agreement-hash "$(hash_of "factoring $d")" --consideration 19000000

step "node $killed restarts from its disk and catches up"
net start "$killed"
for _ in $(seq 1 150); do
  [ "$(net status | awk '$1 ~ /^node-/ && $4 ~ /^[0-9]+$/ {print $4, $6}' | sort -u | wc -l)" = 1 ] && break; sleep 0.2
done
net status

step "30 days later (every node's dev clock): the factor claims payment, the carmaker confirms"
for n in 1 2 3 4; do "$bin/vchain" --endpoint "$(endpoint "$n")" dev advance-clock --days 30 >/dev/null; done
# Block time is the lower median of the nodes' clocks, which they tell each other once a second:
# give the leader a moment to hear that a majority of clocks moved.
sleep 2
v 3 voucher redeem "$d" --as bank-b-factoring
v 3 voucher confirm "$d" --as carmaker --payment-ref PAY-TN-778899

step "node 3: the auditor traces the whole lineage from the financed piece"
v 3 voucher trace "$d"

step "node 2: the auditor exports the lineage's proofs, then checks them with no node at all"
v 2 voucher trace "$d" --export "$dir/lineage.bundle"
printf '$ vchain verify %s --genesis %s\n' "$dir/lineage.bundle" "$dir/genesis.toml"
"$bin/vchain" verify "$dir/lineage.bundle" --genesis "$dir/genesis.toml"

step "node 4: the last block and who certified it (checked against the validators of its height)"
v 4 block get "$(net status | awk '$1 == "node-4" {print $4}')"

step "every node agrees: same height, same state root"
sleep 0.5
net status
echo
echo "demo complete: testnet in $dir (node logs in $dir/node-*/)"
if $keep; then echo "testnet still running; stop it with: $bin/vchain-testnet --dir $dir down"; fi
