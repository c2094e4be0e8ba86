#!/usr/bin/env bash
# Builds the vchain container image without pulling anything from a registry: a minimal Debian
# bookworm root made here with debootstrap (--variant=minbase) is imported as the base image
# (once; reused while it exists), then deploy/container/Dockerfile adds the release binaries
# (vchain-node, the vchain CLI, vchain-testnet to generate a consortium's files) and the
# entrypoint scripts.
#
# Usage: scripts/image.sh
# Env:   VCHAIN_BIN_DIR     use the binaries in this directory instead of building them (they
#                           must be release builds for bookworm's glibc or older)
#        VCHAIN_IMAGE       tag of the image built (default vchain:latest)
#        VCHAIN_BASE_IMAGE  tag of the imported Debian root (default vchain-base:bookworm);
#                           `docker image rm` it to make a fresh one
#        DEBIAN_MIRROR      where debootstrap fetches packages (default http://deb.debian.org/debian)
# Without VCHAIN_BIN_DIR it builds the binaries the house way: one release build of the
# workspace (`cargo build --workspace --bins --locked --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
image="${VCHAIN_IMAGE:-vchain:latest}"
base="${VCHAIN_BASE_IMAGE:-vchain-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# The binaries the image carries; the compose setup and the manifests use all three.
binaries=(vchain-node vchain vchain-testnet)

fail() { echo "image.sh: $*" >&2; exit 1; }
command -v docker >/dev/null 2>&1 || fail "docker is not installed"
docker info >/dev/null 2>&1 || fail "cannot reach the docker daemon (is it running, may this user use it?)"

if [ -n "${VCHAIN_BIN_DIR:-}" ]; then
  bin_dir="$VCHAIN_BIN_DIR"
else
  scripts/setup.sh
  source scripts/env.sh
  echo "image.sh: building the release binaries (first build compiles RocksDB: ~20 min on 2 cores)" >&2
  cargo build --workspace --bins --locked --release -q
  bin_dir="$CARGO_TARGET_DIR/release"
fi
for b in "${binaries[@]}"; do
  [ -x "$bin_dir/$b" ] || fail "$bin_dir/$b is missing (build the workspace's binaries, or set VCHAIN_BIN_DIR)"
done

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
work=$(mktemp -d)
cleanup() {
  # The debootstrapped root belongs to root; its device nodes and setuid files need root to go.
  if [ -d "$work/rootfs" ]; then $SUDO rm -rf "$work/rootfs"; fi
  rm -rf "$work"
}
trap cleanup EXIT

if docker image inspect "$base" >/dev/null 2>&1; then
  echo "image.sh: reusing the base image $base" >&2
else
  if ! command -v debootstrap >/dev/null 2>&1; then
    echo "image.sh: installing debootstrap" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq debootstrap >/dev/null
  fi
  echo "image.sh: debootstrap --variant=minbase bookworm from $mirror (a few minutes)" >&2
  # minbase: the Essential and required packages and apt, no init system. It has what the
  # binaries link against (libc6, libstdc++6, libgcc-s1) and the shell tools the entrypoint
  # scripts and probes use (bash, sed, getent, useradd).
  if ! $SUDO debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    fail "debootstrap failed (log above)"
  fi
  # What only made the root: downloaded packages and indexes, documentation.
  $SUDO rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
    "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"* "$work/rootfs/usr/share/info/"* \
    "$work/rootfs/var/log/"*.log
  $SUDO tar --numeric-owner -C "$work/rootfs" -c . \
    | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change 'CMD ["/bin/bash"]' \
        --message "debootstrap --variant=minbase bookworm ($mirror)" \
        - "$base" >/dev/null
  echo "image.sh: imported the base image $base" >&2
fi

# The build context: the Dockerfile, the binaries and the entrypoint scripts, nothing else.
context="$work/context"
mkdir -p "$context/bin"
cp deploy/container/Dockerfile "$context/"
for b in "${binaries[@]}"; do cp "$bin_dir/$b" "$context/bin/"; done
cp deploy/container/vchain-entrypoint deploy/container/vchain-resolve-peers "$context/bin/"
chmod 0755 "$context/bin/"*
version=$("$bin_dir/vchain-node" --version | awk '{print $2}')
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "image.sh: building $image (vchain $version, $revision) from $base" >&2
docker build -q \
  --build-arg "BASE_IMAGE=$base" \
  --build-arg "VCHAIN_VERSION=$version" \
  --build-arg "VCHAIN_REVISION=$revision" \
  -t "$image" "$context" >/dev/null
echo "image.sh: built $image" >&2
