# Sourced by the scripts: one cargo target directory outside the checkout, reused by tests, runs
# and benchmarks (RocksDB's C++ takes most of a clean build; build it once).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vchain/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
mkdir -p "$CARGO_TARGET_DIR"
