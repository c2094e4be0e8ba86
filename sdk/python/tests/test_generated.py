"""The committed protobuf/gRPC modules are exactly what the schema generates today."""

import importlib.util
from pathlib import Path

SDK_ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("generate_proto", SDK_ROOT / "tools" / "generate_proto.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_modules_match_the_schema():
    generator = _generator()
    assert generator.PROTO_ROOT.is_dir(), f"schema not found at {generator.PROTO_ROOT}"
    changed = generator.drift()
    assert changed == [], (
        f"generated modules drifted from proto/proto/vchain/v1: {changed}; "
        "run python sdk/python/tools/generate_proto.py and commit the result"
    )


def test_drift_is_detected(tmp_path):
    """The check can fail: a schema with one more field gives different modules."""
    generator = _generator()
    schema = tmp_path / "proto"
    for relative in generator.SCHEMA:
        source = generator.PROTO_ROOT / relative
        target = schema / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    api = schema / "vchain/v1/api.proto"
    api.write_text(
        api.read_text(encoding="utf-8").replace(
            "message GetVoucherRequest { string voucher_id = 1; }",
            "message GetVoucherRequest { string voucher_id = 1; bool extra = 2; }",
        ),
        encoding="utf-8",
    )
    assert generator.drift(proto_root=schema) == ["api_pb2.py", "api_pb2.pyi"]
