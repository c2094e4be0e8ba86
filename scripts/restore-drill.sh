#!/usr/bin/env bash
# Restore drill (issue 15): measures how long a node with many transactions takes to come back
# from a backup, against the 30-minute recovery objective. Release build.
#
#   1. starts a dev node (`vchain-node dev`) and loads it with `vchain-bench` (splits and
#      transfers, flat out) until it holds DRILL_TXS transactions;
#   2. takes a backup while it runs (`vchain-node backup`), timed;
#   3. restores it into a new data directory (`vchain-node restore`: digests, read-only open,
#      state root recomputed from every entry, copy), timed;
#   4. starts a node on the restored directory and times until it serves the backup's head.
# Prints each figure with the machine's core count and the ledger's size.
#
# Usage: scripts/restore-drill.sh
# Env:   DRILL_TXS (default 1000000), DRILL_ACCOUNTS (default 2000), DRILL_DIR (default: a new
#        temp dir; removed at the end unless DRILL_KEEP=1)
set -euo pipefail
cd "$(dirname "$0")/.."
txs="${DRILL_TXS:-1000000}"
accounts="${DRILL_ACCOUNTS:-2000}"
dir="${DRILL_DIR:-$(mktemp -d)/drill}"
mkdir -p "$dir"

scripts/setup.sh
source scripts/env.sh
cargo build --workspace --bins --locked --release -q
bin="$CARGO_TARGET_DIR/release"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${DRILL_KEEP:-0}" != 1 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT

# Bounded wait until `vchain status` on $1 answers with a height >= $2; prints the height.
wait_height() {
  local endpoint="$1" want="$2" deadline=$(( $(date +%s) + 600 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    local out height
    out="$("$bin/vchain" --endpoint "$endpoint" status --json 2>/dev/null)" || out=""
    height="$(printf '%s' "$out" \
      | python3 -c 'import json,sys; print(int(json.load(sys.stdin)["height"]))' 2>/dev/null)" || height=-1
    if [ "${height:--1}" -ge "$want" ]; then echo "$height"; return 0; fi
    sleep 0.2
  done
  echo "restore-drill: $endpoint did not reach height $want in 600 s" >&2
  return 1
}

source_dir="$dir/source"
grpc="127.0.0.1:$(port)"
"$bin/vchain-node" dev --data-dir "$source_dir" --grpc-listen "$grpc" >"$dir/source.log" 2>&1 &
pids+=($!)
wait_height "http://$grpc" 0 >/dev/null
echo "== loading $txs transactions into a dev node ($accounts accounts, flat out)"
load_start=$(now_ms)
"$bin/vchain-bench" --endpoints "http://$grpc" --keystore "$source_dir/keystore.json" \
  --accounts "$accounts" --max-txs "$txs" --duration-secs 7200 >"$dir/bench.log" 2>&1
load_ms=$(( $(now_ms) - load_start ))
tail -5 "$dir/bench.log"

echo "== backup of the running node"
backup_start=$(now_ms)
"$bin/vchain-node" backup --config "$source_dir/config.toml" --out "$dir/backup" | tee "$dir/backup.txt"
backup_ms=$(( $(now_ms) - backup_start ))
height="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["height"])' "$dir/backup/manifest.json")"
bytes="$(python3 -c 'import json,sys; print(sum(f["bytes"] for f in json.load(open(sys.argv[1]))["files"]))' "$dir/backup/manifest.json")"
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

echo "== restore into a new data directory"
target="$dir/restored"
mkdir -p "$target"
# The dev chain's genesis lists the node's key: the restored node keeps it (same id, follower).
cp "$source_dir/config.toml" "$source_dir/genesis.toml" "$source_dir/node_key" "$target/"
restore_start=$(now_ms)
"$bin/vchain-node" restore --config "$target/config.toml" --backup "$dir/backup" --as-follower | tee "$dir/restore.txt"
restore_ms=$(( $(now_ms) - restore_start ))

echo "== a node on the restored directory"
grpc2="127.0.0.1:$(port)"
start_start=$(now_ms)
sed -i "s|^grpc_listen = .*|grpc_listen = \"$grpc2\"|" "$target/config.toml"
"$bin/vchain-node" run --config "$target/config.toml" >"$dir/restored.log" 2>&1 &
pids+=($!)
served="$(wait_height "http://$grpc2" "$height")"
start_ms=$(( $(now_ms) - start_start ))

cat <<EOF

restore drill: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)
  transactions loaded     $txs in $((load_ms / 1000)) s
  backup height           $height ($bytes bytes of ledger)
  backup (online)         $backup_ms ms
  restore (check + copy)  $restore_ms ms   [$(cat "$dir/restore.txt" | grep -o 'checked in [0-9]* ms, copied in [0-9]* ms')]
  start to serving        $start_ms ms (served height $served)
  total recovery          $(( (restore_ms + start_ms) / 1000 )) s, objective 1800 s
EOF
