#!/usr/bin/env bash
# Starts a fresh dev node and walks a digital debt voucher through its whole life with the
# `vchain` CLI: credit line, issuance, a split three levels deep down the supply chain, a
# financing, redemption at maturity, destruction of the unredeemed pieces, and the auditor's trace.
#
# Usage: scripts/dev-demo.sh [--keep]   (--keep leaves the node running afterwards)
# Env:   VCHAIN_DEMO_DIR (data dir, default a new temp dir), VCHAIN_DEMO_PORT (default: a free port)
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true

scripts/setup.sh
source scripts/env.sh
echo "== building vchain-node and vchain (first build compiles RocksDB: ~20 min on 2 cores)"
cargo build --workspace --bins --locked --release -q
bin="$CARGO_TARGET_DIR/release"

data="${VCHAIN_DEMO_DIR:-$(mktemp -d)/vchain-dev}"
port="${VCHAIN_DEMO_PORT:-}"
if [ -z "$port" ]; then
  # Ask the kernel for a free loopback port.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 7050)
fi
log="$data.log"
mkdir -p "$(dirname "$data")"
"$bin/vchain-node" dev --data-dir "$data" --grpc-listen "127.0.0.1:$port" --reset >"$data.accounts" 2>"$log" &
node_pid=$!
stop_node() { if ! $keep; then kill "$node_pid" 2>/dev/null || true; wait "$node_pid" 2>/dev/null || true; fi; }
trap stop_node EXIT

export VCHAIN_ENDPOINT="http://127.0.0.1:$port" VCHAIN_KEYSTORE="$data/keystore.json" VCHAIN_PASSPHRASE=dev VCHAIN_READER=regulator
for _ in $(seq 1 100); do
  "$bin/vchain" status >/dev/null 2>&1 && break
  kill -0 "$node_pid" 2>/dev/null || { echo "node failed to start; log: $log" >&2; cat "$log" >&2; exit 1; }
  sleep 0.2
done
cat "$data.accounts"

step() { printf '\n== %s\n' "$*"; }
v() { printf '$ vchain %s\n' "$*"; "$bin/vchain" "$@"; }
# Runs a transaction with --json and prints the ids of the vouchers it created.
created() {
  local ids
  ids=$("$bin/vchain" "$@" --json | awk -F'"' '/"kind":/ {kind=$4} /"voucher_id":/ {if (kind ~ /VOUCHER_(ISSUED|CREATED_BY_SPLIT)/) print $4}')
  [ -n "$ids" ] || { echo "demo: 'vchain $*' created no voucher" >&2; exit 1; }
  echo $ids
}
uscc_of() { "$bin/vchain" account get "$1" --json | sed -n 's/.*"uscc": "\([^"]*\)".*/\1/p'; }
hash_of() { printf '%s' "$1" | sha256sum | cut -c1-64; }

bank=$(uscc_of bank-a-finance)
carmaker=$(uscc_of carmaker)
maturity=$(date -u -d "+30 days" +%F)

step "Bank A grants the carmaker a credit line of CNY 5,000,000.00 (amounts are in fen)"
v credit-line grant --as bank-a-finance --core "$carmaker" --currency CNY --limit 500000000

step "The carmaker issues a CNY 1,000,000.00 voucher to its tier-1 supplier against invoice INV-2026-0001"
printf '$ vchain voucher issue --as carmaker --holder gearbox ... --maturity %s\n' "$maturity"
root=$(created voucher issue --as carmaker --holder gearbox --financier "$bank" --amount 100000000 \
  --maturity "$maturity" --doc-kind invoice --doc-number INV-2026-0001 --doc-hash "$(hash_of INV-2026-0001)")
echo "issued $root"

step "The same invoice cannot finance a second voucher (exit code 3: rejected by the chain)"
set +e
"$bin/vchain" voucher issue --as carmaker --holder gearbox --financier "$bank" --amount 100 --maturity "$maturity" \
  --doc-kind invoice --doc-number INV-2026-0001 --doc-hash "$(hash_of INV-2026-0001)"
echo "exit code $?"
set -e

step "Tier 1 splits it and pays its tier-2 supplier; tier 2 splits and pays tier 3; tier 3 splits again"
read -r l1a l1b <<<"$(created voucher split "$root" --as gearbox --amounts 60000000,40000000)"
echo "split $root -> $l1a $l1b"
v voucher transfer "$l1a" --as gearbox --to castings --agreement-hash "$(hash_of "agreement $l1a castings")"
read -r l2a l2b <<<"$(created voucher split "$l1a" --as castings --amounts 30000000,30000000)"
echo "split $l1a -> $l2a $l2b"
v voucher transfer "$l2a" --as castings --to foundry --agreement-hash "$(hash_of "agreement $l2a foundry")"
read -r l3a l3b <<<"$(created voucher split "$l2a" --as foundry --amounts 10000000,20000000)"
echo "split $l2a -> $l3a $l3b"

step "Tier 3 finances a piece: sells it to Bank B's factoring arm for CNY 190,000.00"
v voucher transfer "$l3b" --as foundry --to bank-b-factoring --agreement-hash "$(hash_of "factoring $l3b")" --consideration 19000000

step "A double spend: tier 3 no longer holds it"
set +e
"$bin/vchain" voucher transfer "$l3b" --as foundry --to castings --agreement-hash "$(hash_of "again $l3b")"
echo "exit code $?"
set -e

step "30 days later (dev clock): the factor claims payment and the carmaker confirms it"
v dev advance-clock --days 30
v voucher redeem "$l3b" --as bank-b-factoring
v voucher confirm "$l3b" --as carmaker --payment-ref PAY-2026-778899

step "After the 7-day grace period the chain destroys the unredeemed pieces by itself"
v dev advance-clock --days 7
sleep 1
v credit-line get --financier "$bank" --core "$carmaker"

step "The auditor traces the whole lineage from the financed piece"
v voucher trace "$l3b"

step "Tier 1's vouchers, and the block and transaction of the redemption"
v voucher list --holder gearbox
v block get

echo
echo "demo complete: data in $data, node log in $log"
if $keep; then echo "node still running on $VCHAIN_ENDPOINT (pid $node_pid)"; fi
