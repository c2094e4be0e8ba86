#!/usr/bin/env bash
# One-time machine setup shared by the demo and the tests: system packages the build needs and a
# cargo target directory outside the checkout that every later build reuses.
set -euo pipefail

need_apt=()
# librocksdb-sys generates its bindings with bindgen, which needs libclang.
# Match libclang itself (libclang.so, libclang-14.so.1), not libclang-cpp, which bindgen cannot use.
if ! ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* >/dev/null 2>&1 \
  && ! ldconfig -p 2>/dev/null | grep -Eq 'libclang(-[0-9.]+)?\.so'; then
  need_apt+=(libclang-dev)
fi
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
# tikv-jemalloc-sys builds jemalloc, the node's allocator, with its configure script and make.
command -v make >/dev/null 2>&1 || need_apt+=(make)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust (rustup) first" >&2
  exit 1
fi
