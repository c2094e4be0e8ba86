#!/usr/bin/env bash
# Runs every test of the workspace (unit, property, integration with real gRPC and RocksDB,
# crash recovery with kill -9). Usage: scripts/test.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo fmt --all -- --check
cargo test --workspace --locked "$@"
