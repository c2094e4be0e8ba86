#!/usr/bin/env bash
# Starts a 4-node Raft testnet on loopback and runs a voucher lifecycle across its nodes:
# the credit line and issuance through node 1, a split and a transfer through node 2, the
# auditor's trace from node 3, status of all four. Usage: scripts/testnet-demo.sh [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
keep=false
[ "${1:-}" = "--keep" ] && keep=true
scripts/setup.sh
source scripts/env.sh
echo "== building vchain-testnet and vchain"
cargo build --locked -q -p vchain-testnet -p vchain-cli
bin="$CARGO_TARGET_DIR/debug"
dir="${VCHAIN_TESTNET_DIR:-$(mktemp -d)/testnet}"
net() { "$bin/vchain-testnet" --dir "$dir" "$@"; }
cleanup() { if ! $keep; then net down >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT

echo "== vchain-testnet up --nodes 4"
net up --nodes 4
endpoint() { net status | awk -v n="node-$1" '$1 == n {print $3}'; }
export VCHAIN_KEYSTORE="$dir/keystore.json" VCHAIN_PASSPHRASE=dev
v() { local node=$1; shift; printf '$ vchain --endpoint %s %s\n' "$(endpoint "$node")" "$*"; "$bin/vchain" --endpoint "$(endpoint "$node")" "$@"; }
created() {
  local node=$1; shift
  "$bin/vchain" --endpoint "$(endpoint "$node")" "$@" --json | awk -F'"' '/"kind":/ {kind=$4} /"voucher_id":/ {if (kind ~ /VOUCHER_(ISSUED|CREATED_BY_SPLIT)/) print $4}' | xargs
}
uscc_of() { "$bin/vchain" --endpoint "$(endpoint 1)" account get "$1" --json | sed -n 's/.*"uscc": "\([^"]*\)".*/\1/p'; }
bank=$(uscc_of bank-a-finance); carmaker=$(uscc_of carmaker)

printf '\n== node 1: credit line and issuance\n'
v 1 credit-line grant --as bank-a-finance --core "$carmaker" --limit 500000000
root=$(created 1 voucher issue --as carmaker --holder gearbox --financier "$bank" --amount 100000000 \
  --maturity "$(date -u -d '+30 days' +%F)" --doc-kind invoice --doc-number INV-TN-0001 \
  --doc-hash "$(printf INV-TN-0001 | sha256sum | cut -c1-64)")
[ -n "$root" ] || { echo "issuance failed" >&2; exit 1; }
echo "issued $root"

printf '\n== node 2: split and transfer\n'
read -r a b <<<"$(created 2 voucher split "$root" --as gearbox --amounts 70000000,30000000)"
echo "split $root -> $a $b"
v 2 voucher transfer "$a" --as gearbox --to castings --agreement-hash "$(printf "agreement $a" | sha256sum | cut -c1-64)"

printf '\n== node 3: the auditor traces the lineage\n'
v 3 voucher trace "$a"

printf '\n== every node agrees\n'
sleep 0.5
net status
