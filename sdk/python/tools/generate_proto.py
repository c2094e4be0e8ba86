#!/usr/bin/env python3
"""Generates the protobuf and gRPC modules of ``vchain_wallet.proto`` from the chain's schema.

The generated modules are committed (``src/vchain_wallet/proto/``), so installing the package
needs no code generator and no copy of the schema. This script is the one way they are made:

    python tools/generate_proto.py          # rewrite them from ../../proto/proto/vchain/v1
    python tools/generate_proto.py --check  # exit 1, naming the files, if they drifted

The test suite runs the check (``tests/test_generated.py``), so a schema change that was not
regenerated fails the tests. The output depends on the generator's version: use the
``grpcio-tools`` pinned in ``pyproject.toml`` (the ``test`` extra).

``protoc`` writes absolute imports (``from vchain.v1 import types_pb2``) that only work with the
schema's own layout on ``sys.path``; they are rewritten to relative ones (``from . import
types_pb2``) so the modules live inside this package. Nothing else is changed: the descriptors
keep the schema's file names (``vchain/v1/types.proto``) and package (``vchain.v1``).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SDK_ROOT = HERE.parent
#: The schema, where the repository keeps it.
PROTO_ROOT = SDK_ROOT.parent.parent / "proto" / "proto"
#: Where the generated modules are committed.
OUTPUT_DIR = SDK_ROOT / "src" / "vchain_wallet" / "proto"
#: The schema files (relative to PROTO_ROOT) and whether each has services.
SCHEMA = {
    "vchain/v1/types.proto": False,
    "vchain/v1/api.proto": True,
    "vchain/v1/sync.proto": False,
}
#: The package's ``__init__``: written by this script too, so the check covers it.
INIT = '''"""Generated protobuf and gRPC modules for the ``vchain.v1`` schema (do not edit).

Made by ``tools/generate_proto.py`` from ``proto/proto/vchain/v1/*.proto``.
"""
'''

_ABSOLUTE_IMPORT = re.compile(r"^from vchain\.v1 import (\w+_pb2)", re.MULTILINE)


def generate(proto_root: Path = PROTO_ROOT) -> dict[str, bytes]:
    """The generated modules, by file name, from the schema under ``proto_root``."""
    from grpc_tools import protoc  # a test/dev dependency only
    import grpc_tools

    include = Path(grpc_tools.__file__).resolve().parent / "_proto"
    files: dict[str, bytes] = {"__init__.py": INIT.encode()}
    with tempfile.TemporaryDirectory() as out:
        for proto, has_services in SCHEMA.items():
            args = [
                "protoc",
                f"-I{proto_root}",
                f"-I{include}",
                f"--python_out={out}",
                f"--pyi_out={out}",
            ]
            if has_services:
                args.append(f"--grpc_python_out={out}")
            args.append(str(proto_root / proto))
            if protoc.main(args) != 0:
                raise RuntimeError(f"protoc failed on {proto}")
        for path in sorted(Path(out, "vchain", "v1").iterdir()):
            text = path.read_text(encoding="utf-8")
            files[path.name] = _ABSOLUTE_IMPORT.sub(r"from . import \1", text).encode()
    return files


def committed(output_dir: Path = OUTPUT_DIR) -> dict[str, bytes]:
    """The committed modules, by file name."""
    return {
        path.name: path.read_bytes()
        for path in sorted(output_dir.iterdir())
        if path.is_file() and path.suffix in (".py", ".pyi")
    }


def drift(output_dir: Path = OUTPUT_DIR, proto_root: Path = PROTO_ROOT) -> list[str]:
    """Files that differ between the committed modules and a fresh generation (empty: none)."""
    fresh = generate(proto_root)
    kept = committed(output_dir)
    return sorted(name for name in fresh.keys() | kept.keys() if fresh.get(name) != kept.get(name))


def write(output_dir: Path = OUTPUT_DIR, proto_root: Path = PROTO_ROOT) -> None:
    """Replaces the committed modules with a fresh generation."""
    fresh = generate(proto_root)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name in committed(output_dir).keys() - fresh.keys():
        (output_dir / name).unlink()
    for name, data in fresh.items():
        (output_dir / name).write_bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report drift instead of writing")
    args = parser.parse_args()
    if args.check:
        changed = drift()
        if changed:
            print(
                "generated modules differ from the schema: "
                + ", ".join(changed)
                + "\nrun: python sdk/python/tools/generate_proto.py",
                file=sys.stderr,
            )
            return 1
        return 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
