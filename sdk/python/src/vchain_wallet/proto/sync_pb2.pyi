from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SnapshotPart(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SNAPSHOT_PART_UNSPECIFIED: _ClassVar[SnapshotPart]
    SNAPSHOT_PART_STATE: _ClassVar[SnapshotPart]
    SNAPSHOT_PART_INDEX: _ClassVar[SnapshotPart]
SNAPSHOT_PART_UNSPECIFIED: SnapshotPart
SNAPSHOT_PART_STATE: SnapshotPart
SNAPSHOT_PART_INDEX: SnapshotPart

class SnapshotDescriptor(_message.Message):
    __slots__ = ("log_index", "height", "block_hash", "state_root", "timestamp_ms")
    LOG_INDEX_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_HASH_FIELD_NUMBER: _ClassVar[int]
    STATE_ROOT_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    log_index: int
    height: int
    block_hash: bytes
    state_root: bytes
    timestamp_ms: int
    def __init__(self, log_index: _Optional[int] = ..., height: _Optional[int] = ..., block_hash: _Optional[bytes] = ..., state_root: _Optional[bytes] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("list_snapshots", "snapshot_chunk", "block_chunk", "certificate")
    LIST_SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_CHUNK_FIELD_NUMBER: _ClassVar[int]
    BLOCK_CHUNK_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    list_snapshots: ListSnapshots
    snapshot_chunk: GetSnapshotChunk
    block_chunk: GetBlockChunk
    certificate: GetCertificate
    def __init__(self, list_snapshots: _Optional[_Union[ListSnapshots, _Mapping]] = ..., snapshot_chunk: _Optional[_Union[GetSnapshotChunk, _Mapping]] = ..., block_chunk: _Optional[_Union[GetBlockChunk, _Mapping]] = ..., certificate: _Optional[_Union[GetCertificate, _Mapping]] = ...) -> None: ...

class GetCertificate(_message.Message):
    __slots__ = ("height",)
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    height: int
    def __init__(self, height: _Optional[int] = ...) -> None: ...

class ListSnapshots(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetSnapshotChunk(_message.Message):
    __slots__ = ("height", "part", "after", "from_start", "bytes_max")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    PART_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    FROM_START_FIELD_NUMBER: _ClassVar[int]
    BYTES_MAX_FIELD_NUMBER: _ClassVar[int]
    height: int
    part: SnapshotPart
    after: bytes
    from_start: bool
    bytes_max: int
    def __init__(self, height: _Optional[int] = ..., part: _Optional[_Union[SnapshotPart, str]] = ..., after: _Optional[bytes] = ..., from_start: _Optional[bool] = ..., bytes_max: _Optional[int] = ...) -> None: ...

class GetBlockChunk(_message.Message):
    __slots__ = ("height", "chunk")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    height: int
    chunk: int
    def __init__(self, height: _Optional[int] = ..., chunk: _Optional[int] = ...) -> None: ...

class SyncResponse(_message.Message):
    __slots__ = ("snapshots", "snapshot_chunk", "block_chunk", "error", "certificate")
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_CHUNK_FIELD_NUMBER: _ClassVar[int]
    BLOCK_CHUNK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    snapshots: SnapshotList
    snapshot_chunk: SnapshotChunkData
    block_chunk: bytes
    error: str
    certificate: bytes
    def __init__(self, snapshots: _Optional[_Union[SnapshotList, _Mapping]] = ..., snapshot_chunk: _Optional[_Union[SnapshotChunkData, _Mapping]] = ..., block_chunk: _Optional[bytes] = ..., error: _Optional[str] = ..., certificate: _Optional[bytes] = ...) -> None: ...

class SnapshotList(_message.Message):
    __slots__ = ("snapshots",)
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[SnapshotDescriptor]
    def __init__(self, snapshots: _Optional[_Iterable[_Union[SnapshotDescriptor, _Mapping]]] = ...) -> None: ...

class KeyValue(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class SnapshotChunkData(_message.Message):
    __slots__ = ("entries", "more")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[KeyValue]
    more: bool
    def __init__(self, entries: _Optional[_Iterable[_Union[KeyValue, _Mapping]]] = ..., more: _Optional[bool] = ...) -> None: ...

class Incarnation(_message.Message):
    __slots__ = ("node_id", "id", "generation", "boot")
    NODE_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    BOOT_FIELD_NUMBER: _ClassVar[int]
    node_id: str
    id: bytes
    generation: int
    boot: bytes
    def __init__(self, node_id: _Optional[str] = ..., id: _Optional[bytes] = ..., generation: _Optional[int] = ..., boot: _Optional[bytes] = ...) -> None: ...

class IncarnationNotice(_message.Message):
    __slots__ = ("own", "known")
    OWN_FIELD_NUMBER: _ClassVar[int]
    KNOWN_FIELD_NUMBER: _ClassVar[int]
    own: Incarnation
    known: _containers.RepeatedCompositeFieldContainer[Incarnation]
    def __init__(self, own: _Optional[_Union[Incarnation, _Mapping]] = ..., known: _Optional[_Iterable[_Union[Incarnation, _Mapping]]] = ...) -> None: ...
