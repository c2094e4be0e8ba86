"""Generated protobuf and gRPC modules for the ``vchain.v1`` schema (do not edit).

Made by ``tools/generate_proto.py`` from ``proto/proto/vchain/v1/*.proto``.
"""
