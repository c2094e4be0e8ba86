#!/usr/bin/env bash
# Tests the Python wallet (sdk/python, package vchain-wallet) against a real dev node built from
# this checkout: makes a virtualenv, installs the package with its test extra from sdk/python
# (pip, from PyPI), builds the debug binaries if they are not up to date, and runs pytest.
#
# Usage: scripts/test-python.sh [pytest args]
# Env:   PYTHON          the interpreter (default python3; 3.11 or later)
#        VCHAIN_VENV     the virtualenv (default $CARGO_TARGET_DIR/python-venv)
#        VCHAIN_BIN_DIR  use the vchain-node and vchain binaries there instead of building them
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

python="${PYTHON:-python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "test-python.sh: $python not found; install Python 3.11 or later" >&2
  exit 1
fi
venv="${VCHAIN_VENV:-$CARGO_TARGET_DIR/python-venv}"
if [ ! -x "$venv/bin/python" ]; then
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a package of its own.
    version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    echo "test-python.sh: installing python$version-venv" >&2
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "python$version-venv" >/dev/null
    rm -rf "$venv"
    "$python" -m venv "$venv"
  fi
fi
# A local directory is always built and installed again, so the tests run this checkout's code.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "./sdk/python[test]"

if [ -z "${VCHAIN_BIN_DIR:-}" ]; then
  # The same build as scripts/test.sh's `cargo test` (nothing to do right after it): building
  # only the binaries would resolve features differently and rebuild RocksDB.
  cargo test --workspace --locked --release --no-run -q
  export VCHAIN_BIN_DIR="$CARGO_TARGET_DIR/release"
fi
cd sdk/python
exec "$venv/bin/python" -m pytest "$@"
