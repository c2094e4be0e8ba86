#!/usr/bin/env bash
# The container deployment, end to end (issue 15, "Deploy"): builds the image
# (scripts/image.sh), writes a 4-node consortium with the image's own `vchain-testnet init`,
# starts it with deploy/compose on a network of its own, waits for /readyz on every node,
# commits real transactions through a published port with the `vchain` CLI, then:
#   1. partitions the leader with `docker network disconnect` (a real partition): the other
#      three elect a new leader and keep committing, the cut-off node commits nothing;
#   2. heals it (`docker network connect`): all four converge on one height and state root;
#   3. stops one node with SIGTERM (`docker stop`): exit code 0 and its shutdown log lines;
#      the others commit meanwhile; it restarts from its volume and catches up.
# It also checks the other deployment files: the Kubernetes manifests parse and hold what they
# must (and their init container's script, run here in a container, resolves peers and installs
# the key), the compose file is valid, and the systemd unit passes `systemd-analyze verify`.
#
# Usage: scripts/test-containers.sh [--consensus raft|pbft] [--keep]
#   --consensus  the consortium's engine (default raft)
#   --keep       leave the consortium running (and print how to reach and remove it)
# Env:   VCHAIN_BIN_DIR, VCHAIN_IMAGE, VCHAIN_BASE_IMAGE: passed to scripts/image.sh
# Needs docker with docker-compose (or `docker compose`), python3 with PyYAML, curl. Every wait
# is bounded; whatever happens, the containers, network and volumes it made are removed (the
# images stay, for the next run). Takes about a minute once the image exists.
set -euo pipefail
cd "$(dirname "$0")/.."
consensus=raft
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --consensus) consensus="${2:-}"; shift 2;;
    --keep) keep=true; shift;;
    *) echo "usage: scripts/test-containers.sh [--consensus raft|pbft] [--keep]" >&2; exit 2;;
  esac
done
case "$consensus" in raft|pbft) ;; *) echo "test-containers: --consensus is raft or pbft" >&2; exit 2;; esac

started=$(date +%s)
step() { printf '\n== [%3ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
fail() { echo "test-containers: FAILED: $*" >&2; exit 1; }

for tool in docker python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool is not installed"
done
if docker compose version >/dev/null 2>&1; then
  compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose_cmd=(docker-compose)
else
  fail "neither 'docker compose' nor docker-compose is installed"
fi
if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "test-containers: installing python3-yaml" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-yaml >/dev/null
fi

export VCHAIN_IMAGE="${VCHAIN_IMAGE:-vchain:latest}"
image="$VCHAIN_IMAGE"
compose_file=deploy/compose/docker-compose.yml
project="vchaintest$$x${RANDOM}"
network="${project}_consortium"
work=$(mktemp -d)
up=false

# Diagnostics an operator would want when something failed: every container's state and the
# end of its log.
diagnose() {
  echo "---- containers of $project" >&2
  compose ps >&2 || true
  for n in 1 2 3 4; do
    local id
    id=$(compose ps -q "node$n" 2>/dev/null || true)
    [ -n "$id" ] || continue
    echo "---- node$n: $(docker inspect -f '{{.State.Status}} exit={{.State.ExitCode}} restarts={{.RestartCount}}' "$id" 2>/dev/null || true)" >&2
    docker logs --tail 40 "$id" 2>&1 | sed "s/^/node$n| /" >&2 || true
  done
}
cleanup() {
  local status=$?
  if [ "$status" -ne 0 ] && $up; then diagnose; fi
  if $keep && $up; then
    echo "test-containers: consortium kept: project $project, files in $work"
    echo "  remove it with: VCHAIN_CONSORTIUM=$work/consortium/net VCHAIN_SUBNET=$subnet ${compose_cmd[*]} -f $compose_file -p $project down -v"
    return
  fi
  if $up; then compose down -v --remove-orphans -t 20 >/dev/null 2>&1 || true; fi
  docker network rm "$network" >/dev/null 2>&1 || true
  # Files the containers wrote belong to their user (10001): remove them as that user.
  if [ -d "$work/consortium" ]; then
    docker run --rm --network none --user 10001:10001 -v "$work/consortium:/w" --entrypoint rm \
      "$image" -rf /w/net /w/named >/dev/null 2>&1 || true
  fi
  rm -rf "$work" 2>/dev/null || true
  exit "$status"
}
trap cleanup EXIT

compose() { "${compose_cmd[@]}" -f "$compose_file" -p "$project" "$@"; }

step "deployment files: Kubernetes manifests, compose file, systemd unit"
python3 - deploy/kubernetes <<'EOF'
import glob, os, sys, yaml
root = sys.argv[1]
docs = {}
for path in sorted(glob.glob(os.path.join(root, "*.yaml"))):
    with open(path) as f:
        try:
            loaded = [d for d in yaml.safe_load_all(f) if d is not None]
        except yaml.YAMLError as e:
            sys.exit(f"{path}: not YAML: {e}")
    for d in loaded:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            sys.exit(f"{path}: a document without kind and apiVersion")
        docs.setdefault(d["kind"], []).append(d)
def need(cond, what):
    if not cond:
        sys.exit(f"deploy/kubernetes: {what}")
kustomization = docs["Kustomization"][0]
for resource in kustomization["resources"]:
    need(os.path.exists(os.path.join(root, resource)), f"kustomization names a missing {resource}")
sts = docs["StatefulSet"][0]
spec = sts["spec"]
pod = spec["template"]["spec"]
need(spec.get("volumeClaimTemplates"), "the StatefulSet has no volumeClaimTemplates")
need(pod.get("terminationGracePeriodSeconds", 0) >= 30, "terminationGracePeriodSeconds under 30")
node = next(c for c in pod["containers"] if c["name"] == "node")
need(node["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness is not /readyz")
need(node["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness is not /healthz")
need(pod["securityContext"]["runAsUser"] == 10001, "the pod does not run as the image's user")
mounts = {m["name"] for m in node["volumeMounts"]}
claims = {c["metadata"]["name"] for c in spec["volumeClaimTemplates"]}
need("data" in mounts and "data" in claims, "the node does not mount its claimed volume")
volumes = {v["name"]: v for v in pod["volumes"]}
generated = {g["name"] for g in kustomization.get("configMapGenerator", [])} | \
            {g["name"] for g in kustomization.get("secretGenerator", [])}
need(volumes["config"]["configMap"]["name"] in generated, "the ConfigMap is not generated")
need(volumes["keys"]["secret"]["secretName"] in generated, "the Secret is not generated")
services = {s["metadata"]["name"]: s for s in docs["Service"]}
need(services[spec["serviceName"]]["spec"].get("clusterIP") == "None", "the governing Service is not headless")
for ordinal in range(spec["replicas"]):
    need(f"vchain-{ordinal}-p2p" in services, f"no p2p Service for vchain-{ordinal}")
print(f"deploy/kubernetes: {sum(len(v) for v in docs.values())} documents parse; StatefulSet, probes, volumes and Services consistent")
EOF
VCHAIN_CONSORTIUM=/nonexistent "${compose_cmd[@]}" -f "$compose_file" config -q \
  || fail "$compose_file is not a valid compose file"
echo "$compose_file: valid"

step "image: scripts/image.sh ($image)"
scripts/image.sh
# The host runs the image's own CLI: what is tested is what ships.
docker run --rm --network none --entrypoint cat "$image" /usr/local/bin/vchain >"$work/vchain"
chmod +x "$work/vchain"
vchain() { "$work/vchain" --rpc-timeout-secs 20 "$@"; }
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify wants ExecStart's binary to exist: point it at the image's.
  docker run --rm --network none --entrypoint cat "$image" /usr/local/bin/vchain-node >"$work/vchain-node"
  chmod +x "$work/vchain-node"
  sed "s#/usr/local/bin/vchain-node#$work/vchain-node#" deploy/systemd/vchain-node.service \
    >"$work/vchain-node.service"
  if ! systemd-analyze verify "$work/vchain-node.service"; then
    fail "deploy/systemd/vchain-node.service does not verify"
  fi
  echo "deploy/systemd/vchain-node.service: systemd-analyze verify passed"
else
  echo "systemd-analyze not installed: the systemd unit is not verified"
fi

step "a network of its own: pick a free /24"
subnet=""
for _ in $(seq 1 20); do
  candidate="10.$(( 200 + RANDOM % 50 )).$(( RANDOM % 256 ))"
  # Not a route of this host, and not another docker network (docker refuses overlaps).
  if ip -4 route 2>/dev/null | grep -q "^${candidate%.*}\."; then continue; fi
  if docker network create --subnet "$candidate.0/24" "$network" >/dev/null 2>&1; then
    docker network rm "$network" >/dev/null
    subnet=$candidate
    break
  fi
done
[ -n "$subnet" ] || fail "no free /24 for the consortium's network in 20 tries"
echo "network $network: $subnet.0/24"

step "vchain-testnet init (in the image): 4 $consensus nodes at $subnet.11-14"
mkdir -p "$work/consortium"
chmod 0777 "$work/consortium"
docker run --rm --network none -v "$work/consortium:/out" "$image" \
  vchain-testnet --dir /out/net init --consensus "$consensus" \
  --hosts "$subnet.11,$subnet.12,$subnet.13,$subnet.14"
# The keystore belongs to the image's user: read it out through the image.
docker run --rm --network none -v "$work/consortium:/out:ro" --entrypoint cat "$image" \
  /out/net/keystore.json >"$work/keystore.json"
export VCHAIN_KEYSTORE="$work/keystore.json" VCHAIN_PASSPHRASE=dev VCHAIN_READER=regulator

step "compose up (project $project)"
export VCHAIN_CONSORTIUM="$work/consortium/net" VCHAIN_SUBNET="$subnet"
# Host ports: docker picks free ones (parallel runs must not collide).
for n in 1 2 3 4; do export "VCHAIN_NODE${n}_GRPC_PORT=" "VCHAIN_NODE${n}_METRICS_PORT="; done
up=true
compose up -d --no-build >/dev/null 2>"$work/up.log" || { cat "$work/up.log" >&2; fail "compose up"; }
docker network inspect "$network" >/dev/null 2>&1 || fail "compose made no network $network"

# Container ids, once (docker-compose is slow to start; plain docker is not).
declare -A container_ids
for n in 1 2 3 4; do
  container_ids[$n]=$(compose ps -q "node$n")
  [ -n "${container_ids[$n]}" ] || fail "compose started no container for node$n"
done
cid() { echo "${container_ids[$1]}"; }
# The published host address of node N's container port P (it changes when a container restarts).
published() { docker port "$(cid "$1")" "$2/tcp" | head -n 1 | sed 's/^0\.0\.0\.0:/127.0.0.1:/'; }
# Status read inside the container (it works whatever the container's networks): JSON fields.
# status_field N FIELD... prints the fields, space-separated (nothing if the node does not answer).
status_field() {
  local node=$1; shift
  docker exec "$(cid "$node")" vchain --rpc-timeout-secs 5 --endpoint http://127.0.0.1:7050 --json status 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(str(d.get(f, "")) for f in sys.argv[1:]))' "$@" 2>/dev/null || true
}
height() { status_field "$1" height; }
root() { status_field "$1" state_root; }
ready() { curl -fsS --max-time 2 "http://$(published "$1" 9100)/readyz" >/dev/null 2>&1; }
wait_ready() {
  local deadline=$(( $(date +%s) + $2 ))
  for n in $1; do
    until ready "$n"; do
      [ "$(date +%s)" -lt "$deadline" ] || fail "node$n not ready (/readyz) within $2 s"
      sleep 0.5
    done
  done
}
# Waits until the nodes given agree on height and state root, the height at least $2.
wait_converged() {
  local nodes=$1 floor=$2 seconds=$3
  [[ "$floor" =~ ^[0-9]+$ ]] || fail "no height to wait for (a node did not answer its status)"
  local deadline=$(( $(date +%s) + seconds ))
  while :; do
    local seen="" n
    for n in $nodes; do seen+="$(status_field "$n" height state_root)"$'\n'; done
    local distinct first_height
    distinct=$(printf '%s' "$seen" | sort -u | wc -l)
    first_height=$(printf '%s' "$seen" | head -n 1 | cut -d' ' -f1)
    if [ "$distinct" = 1 ] && [ -n "$first_height" ] && [ "$first_height" -ge "$floor" ]; then
      echo "nodes $nodes agree: height $first_height, state root $(printf '%s' "$seen" | head -n 1 | cut -d' ' -f2 | cut -c1-16)..."
      return
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      printf '%s' "$seen" | paste <(printf 'node%s\n' $nodes) - >&2
      fail "nodes $nodes did not converge at height >= $floor within $seconds s"
    fi
    sleep 0.5
  done
}
leader_of() { status_field "$1" leader | sed -n 's/^node-\([0-9]*\)$/\1/p'; }

step "waiting for /readyz on all four (published metrics ports)"
wait_ready "1 2 3 4" 90
for n in 1 2 3 4; do
  echo "node$n: gRPC $(published "$n" 7050), metrics $(published "$n" 9100), consensus and leader: $(status_field "$n" consensus leader)"
done

uscc_of() { vchain --endpoint "http://$(published 1 7050)" account get "$1" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["account"]["uscc"])'; }
hash_of() { printf '%s' "$1" | sha256sum | cut -c1-64; }
issued=0
# Issues $2 vouchers through node $1's published gRPC port; each waits for its commit.
issue() {
  local node=$1 count=$2 endpoint i
  endpoint="http://$(published "$node" 7050)"
  for i in $(seq 1 "$count"); do
    issued=$(( issued + 1 ))
    vchain --endpoint "$endpoint" voucher issue --as carmaker --holder gearbox --financier "$bank" \
      --amount 1000000 --maturity "$(date -u -d '+30 days' +%F)" --doc-kind invoice \
      --doc-number "INV-CT-$issued" --doc-hash "$(hash_of "INV-CT-$issued")" >/dev/null \
      || fail "voucher $issued through node$node was not committed (exit $?)"
  done
  echo "node$node: $count voucher(s) issued and committed ($issued in all)"
}

step "transactions through node1's published port: a credit line, vouchers"
bank=$(uscc_of bank-a-finance) || fail "reading account bank-a-finance through node1's published port"
carmaker=$(uscc_of carmaker) || fail "reading account carmaker through node1's published port"
vchain --endpoint "http://$(published 1 7050)" credit-line grant --as bank-a-finance --core "$carmaker" \
  --currency CNY --limit 500000000000 >/dev/null || fail "credit line grant"
issue 1 3
wait_converged "1 2 3 4" 2 30

step "partition: cut the leader off the network (docker network disconnect)"
victim=$(leader_of 1)
[ -n "$victim" ] || fail "node1 knows no leader"
others=""; for n in 1 2 3 4; do [ "$n" = "$victim" ] || others+="$n "; done
others=${others% }
via=${others%% *}
docker network disconnect "$network" "$(cid "$victim")" || fail "docker network disconnect node$victim"
echo "node$victim (leader) is cut off; the others: $others"
sleep 1
cut_height=$(height "$victim")
cut_root=$(root "$victim")
[ -n "$cut_height" ] || fail "node$victim does not answer its status while cut off"
others_before=$(height "$via")
issue "$via" 5
new_leader=""
deadline=$(( $(date +%s) + 30 ))
until [ -n "$new_leader" ] && [ "$new_leader" != "$victim" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "the connected nodes name no new leader within 30 s"
  new_leader=$(leader_of "$via"); sleep 0.5
done
echo "new leader: node$new_leader"
wait_converged "$others" $(( others_before + 1 )) 30
issue "$via" 3
sleep 1
now_height=$(height "$victim")
[ "$now_height" = "$cut_height" ] && [ "$(root "$victim")" = "$cut_root" ] \
  || fail "node$victim committed while cut off: height $cut_height -> $now_height"
echo "node$victim committed nothing while cut off (height $cut_height); the others are at $(height "$via")"

step "heal: reconnect node$victim at its address (docker network connect)"
docker network connect --ip "$subnet.1$victim" --alias "node$victim" "$network" "$(cid "$victim")" \
  || fail "docker network connect node$victim"
wait_converged "1 2 3 4" "$(height "$via")" 60
issue "$victim" 2
wait_converged "1 2 3 4" "$(height "$victim")" 30

step "SIGTERM: docker stop the leader and check a clean shutdown"
stopped=$(leader_of "$via")
[ -n "$stopped" ] || fail "no leader before the stop"
stop_id=$(cid "$stopped")
t0=$(date +%s)
docker stop -t 60 "$stop_id" >/dev/null || fail "docker stop node$stopped"
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$stop_id")
logs=$(docker logs --tail 200 "$stop_id" 2>&1)
[ "$exit_code" = 0 ] || fail "node$stopped exited with $exit_code after SIGTERM"
for line in 'stop requested signal="?SIGTERM' 'shutting down' 'node stopped'; do
  grep -Eq "$line" <<<"$logs" || fail "node$stopped's log lacks \"$line\" after SIGTERM"
done
echo "node$stopped stopped in $(( $(date +%s) - t0 )) s, exit code 0, logged: stop requested (SIGTERM), shutting down, node stopped"
remaining=""; for n in 1 2 3 4; do [ "$n" = "$stopped" ] || remaining+="$n "; done
remaining=${remaining% }
via=${remaining%% *}
issue "$via" 3
wait_converged "$remaining" "$(height "$via")" 30

step "restart node$stopped: it reopens its volume and catches up"
docker start "$stop_id" >/dev/null || fail "docker start node$stopped"
wait_ready "$stopped" 60
wait_converged "1 2 3 4" "$(height "$via")" 60
# Read the whole log first: `docker logs | grep -q` under pipefail fails when grep stops at the
# match before docker has written the rest (SIGPIPE), which is how this check once failed a
# node that had reopened its ledger.
stopped_log=$(docker logs "$stop_id" 2>&1)
grep -q 'reopened ledger' <<<"$stopped_log" || fail "node$stopped did not reopen its ledger"
# Its gRPC port is published anew: it takes transactions again.
issue "$stopped" 1
wait_converged "1 2 3 4" "$(height "$stopped")" 30

step "the Kubernetes init container's script, on this network: peers by name, key installed"
docker run --rm --network none -v "$work/consortium:/out" "$image" \
  vchain-testnet --dir /out/named init --consensus "$consensus" --hosts node1,node2,node3,node4 >/dev/null
init_script=$(python3 -c '
import yaml
s = yaml.safe_load(open("deploy/kubernetes/statefulset.yaml"))
c = s["spec"]["template"]["spec"]["initContainers"][0]
assert c["command"][:2] == ["sh", "-c"], c["command"]
print(c["command"][2])')
docker run --rm --network "$network" --read-only --user 10001:10001 \
  --tmpfs /config:uid=10001,gid=10001 --tmpfs /keys:uid=10001,gid=10001 \
  --tmpfs /run/vchain:uid=10001,gid=10001 --tmpfs /data:uid=10001,gid=10001,mode=0700 \
  -v "$work/consortium/named:/src:ro" -e POD_NAME=vchain-2 --entrypoint sh "$image" -c '
    set -eu
    # The ConfigMap and the Secret as the pod sees them.
    cp /src/genesis.toml /config/genesis.toml
    for n in 1 2 3 4; do cp /src/node-$n/config.toml /config/node-$n.toml; cp /src/node-$n/node_key /keys/node-$n; done
    sh -c "$1"
    grep -q "^node_id = \"node-3\"" /run/vchain/config.toml
    for n in 1 2 4; do grep -q "/ip4/$2.1$n/tcp/7100/p2p/" /run/vchain/config.toml; done
    if grep /dns4/ /run/vchain/config.toml; then echo "a name was left unresolved" >&2; exit 1; fi
    cmp /run/vchain/genesis.toml /src/genesis.toml
    cmp /data/node_key /keys/node-3
    [ "$(stat -c %a /data/node_key)" = 600 ]
  ' sh "$init_script" "$subnet" >"$work/init-container.log" 2>&1 \
  || { cat "$work/init-container.log" >&2; fail "the StatefulSet's init container script"; }
echo "pod vchain-2 -> node-3: peers node1, node2, node4 resolved to $subnet.11, .12, .14; node key installed (0600)"

step "no restarts, no panics"
for n in 1 2 3 4; do
  id=$(cid "$n")
  restarts=$(docker inspect -f '{{.RestartCount}}' "$id")
  [ "$restarts" = 0 ] || fail "node$n restarted $restarts times (it crashed)"
  if docker logs "$id" 2>&1 | grep -E 'panicked|divergence at height'; then fail "node$n logged a panic or a divergence"; fi
done
for n in 1 2 3 4; do echo "node$n: height $(height "$n"), leader $(status_field "$n" leader)"; done

step "passed: $consensus consortium in containers; partition, heal, SIGTERM and restart ($(( $(date +%s) - started )) s)"
