#!/usr/bin/env bash
# Runs every test of the workspace (unit, property, integration with real gRPC and RocksDB,
# crash recovery with kill -9), then the Python wallet's tests against a real dev node
# (scripts/test-python.sh), the web explorer in a headless browser (scripts/test-explorer.sh)
# and the container deployment (scripts/test-containers.sh).
# Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo fmt --all -- --check
# House rule: the state machines (contracts, consensus) depend on no I/O crate.
for crate in vchain-contracts vchain-consensus; do
  if cargo tree --locked -p "$crate" -e normal --prefix none | grep -E '^(tokio|tonic|rocksdb|librocksdb-sys|hyper|libp2p) '; then
    echo "test.sh: $crate must not depend on an I/O crate (see ARCHITECTURE.md)" >&2
    exit 1
  fi
done
# House rule: the node library depends on no client or dev tooling (the CLI, the wallet, devnet).
if cargo tree --locked -p vchain-node -e normal --prefix none | grep -E '^vchain-(cli|wallet|devnet) '; then
  echo "test.sh: vchain-node must not depend on the CLI, the wallet or devnet (see ARCHITECTURE.md)" >&2
  exit 1
fi
# House rule: a crate's modules form layers; none depends on one that depends back on it.
python3 scripts/module-cycles.py contracts/src
cargo test --workspace --locked --release "$@"
# The Python wallet (sdk/python) against the binaries just built.
scripts/test-python.sh
# The web explorer in headless Chromium against a dev node (screenshots under
# $CARGO_TARGET_DIR/test-artefacts/explorer).
scripts/test-explorer.sh
# The container image built here (no registry) and a 4-node consortium under compose: a
# partition by the container network, healing, SIGTERM; the Kubernetes manifests and the
# systemd unit checked (scripts/test-containers.sh; the image's build reuses the binaries above).
VCHAIN_BIN_DIR="$CARGO_TARGET_DIR/release" scripts/test-containers.sh
# Lints are part of the build: a warning fails CI.
cargo clippy --workspace --all-targets --locked --release -- -D warnings
