//! Chunked transfer of a byte string larger than one sync response (a ledger snapshot).
//!
//! The requester asks for chunk `i` in a request of its own format (the network does not read
//! requests); the server answers with [`chunk_of`]`(snapshot, i, ..).encode()`; the requester
//! calls [`NetworkHandle::fetch_chunked`], which asks for each chunk in turn and feeds the
//! answers to an `Assembler`.
//!
//! [`NetworkHandle::fetch_chunked`]: super::NetworkHandle::fetch_chunked

use super::{NetworkError, SYNC_RESPONSE_BYTES_MAX};

/// Bytes of a chunk's header: index and total, big-endian `u32`s.
pub(crate) const CHUNK_HEADER_BYTES: usize = 8;
/// Largest chunk payload that fits one sync response.
pub const CHUNK_BYTES_MAX: usize = SYNC_RESPONSE_BYTES_MAX - CHUNK_HEADER_BYTES;
/// Most chunks in one transfer.
pub(crate) const CHUNKS_PER_TRANSFER_MAX: u32 = 1 << 16;

/// One piece of a chunked transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Position, from 0.
    pub(crate) index: u32,
    /// Number of chunks in the whole transfer (at least 1).
    pub(crate) total: u32,
    /// This chunk's bytes.
    pub(crate) bytes: Vec<u8>,
}

impl Chunk {
    /// The chunk as a sync response.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(CHUNK_HEADER_BYTES + self.bytes.len());
        out.extend_from_slice(&self.index.to_be_bytes());
        out.extend_from_slice(&self.total.to_be_bytes());
        out.extend_from_slice(&self.bytes);
        out
    }

    /// Parses a sync response as a chunk.
    pub(crate) fn decode(response: &[u8]) -> Result<Self, NetworkError> {
        let invalid = |why: &str| NetworkError::ChunkInvalid {
            index: 0,
            why: why.to_owned(),
        };
        let (header, bytes) = response
            .split_first_chunk::<CHUNK_HEADER_BYTES>()
            .ok_or_else(|| invalid("shorter than its header"))?;
        let (index, total) = header.split_at(4);
        let index = u32::from_be_bytes(index.try_into().map_err(|_| invalid("index"))?);
        let total = u32::from_be_bytes(total.try_into().map_err(|_| invalid("total"))?);
        if total == 0 || total > CHUNKS_PER_TRANSFER_MAX || index >= total {
            return Err(NetworkError::ChunkInvalid {
                index,
                why: format!("index {index} of {total} (at most {CHUNKS_PER_TRANSFER_MAX})"),
            });
        }
        Ok(Self {
            index,
            total,
            bytes: bytes.to_vec(),
        })
    }
}

/// How many chunks of `chunk_bytes` carry `len` bytes (an empty transfer is one empty chunk).
pub(crate) fn chunk_count(len: usize, chunk_bytes: usize) -> Result<u32, NetworkError> {
    check_chunk_bytes(chunk_bytes)?;
    let count = len.div_ceil(chunk_bytes).max(1);
    u32::try_from(count)
        .ok()
        .filter(|count| *count <= CHUNKS_PER_TRANSFER_MAX)
        .ok_or(NetworkError::TooLarge {
            what: "chunk count",
            got: count,
            max: CHUNKS_PER_TRANSFER_MAX as usize,
        })
}

/// Chunk `index` of `data` cut in pieces of `chunk_bytes` (at most [`CHUNK_BYTES_MAX`]).
pub fn chunk_of(data: &[u8], index: u32, chunk_bytes: usize) -> Result<Chunk, NetworkError> {
    let total = chunk_count(data.len(), chunk_bytes)?;
    if index >= total {
        return Err(NetworkError::ChunkInvalid {
            index,
            why: format!("asked for chunk {index} of {total}"),
        });
    }
    let start = (index as usize).saturating_mul(chunk_bytes).min(data.len());
    let end = start.saturating_add(chunk_bytes).min(data.len());
    Ok(Chunk {
        index,
        total,
        bytes: data[start..end].to_vec(),
    })
}

fn check_chunk_bytes(chunk_bytes: usize) -> Result<(), NetworkError> {
    if chunk_bytes == 0 || chunk_bytes > CHUNK_BYTES_MAX {
        return Err(NetworkError::TooLarge {
            what: "chunk size",
            got: chunk_bytes,
            max: CHUNK_BYTES_MAX,
        });
    }
    Ok(())
}

/// Puts a transfer back together, chunk by chunk in order, refusing anything inconsistent.
#[derive(Debug)]
pub(crate) struct Assembler {
    bytes: Vec<u8>,
    bytes_max: usize,
    next: u32,
    total: Option<u32>,
}

impl Assembler {
    /// An empty transfer that may grow to `bytes_max` bytes.
    pub(crate) fn new(bytes_max: usize) -> Self {
        Self {
            bytes: Vec::new(),
            bytes_max,
            next: 0,
            total: None,
        }
    }

    /// The index of the chunk to ask for next, or `None` when the transfer is complete.
    pub(crate) fn next_index(&self) -> Option<u32> {
        match self.total {
            Some(total) if self.next >= total => None,
            _ => Some(self.next),
        }
    }

    /// Adds the next chunk.
    pub(crate) fn push(&mut self, chunk: Chunk) -> Result<(), NetworkError> {
        let invalid = |why: String| NetworkError::ChunkInvalid {
            index: chunk.index,
            why,
        };
        if Some(chunk.index) != self.next_index() {
            return Err(invalid(format!("expected chunk {:?}", self.next_index())));
        }
        if let Some(total) = self.total {
            if chunk.total != total {
                return Err(invalid(format!(
                    "total changed from {total} to {}",
                    chunk.total
                )));
            }
        }
        let len = self.bytes.len().saturating_add(chunk.bytes.len());
        if len > self.bytes_max {
            return Err(NetworkError::TooLarge {
                what: "chunked transfer",
                got: len,
                max: self.bytes_max,
            });
        }
        self.total = Some(chunk.total);
        self.bytes.extend_from_slice(&chunk.bytes);
        self.next += 1;
        Ok(())
    }

    /// The whole transfer, once [`Assembler::next_index`] is `None`.
    pub(crate) fn finish(self) -> Result<Vec<u8>, NetworkError> {
        match self.next_index() {
            None => Ok(self.bytes),
            Some(index) => Err(NetworkError::ChunkInvalid {
                index,
                why: "transfer is incomplete".to_owned(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_reassemble_exactly_and_inconsistency_is_refused() {
        let data: Vec<u8> = (0..10_007u32).map(|i| (i % 251) as u8).collect();
        let total = chunk_count(data.len(), 1_000).expect("count");
        assert_eq!(total, 11);
        let mut assembler = Assembler::new(data.len());
        while let Some(index) = assembler.next_index() {
            let chunk = chunk_of(&data, index, 1_000).expect("chunk");
            let wire = Chunk::decode(&chunk.encode()).expect("decode");
            assembler.push(wire).expect("push");
        }
        assert_eq!(assembler.finish().expect("finish"), data);

        assert_eq!(chunk_count(0, 10).expect("empty"), 1);
        assert!(chunk_of(&data, 11, 1_000).is_err());
        assert!(chunk_of(&data, 0, 0).is_err());
        assert!(chunk_of(&data, 0, CHUNK_BYTES_MAX + 1).is_err());
        assert!(Chunk::decode(&[0; 7]).is_err());

        let mut assembler = Assembler::new(10);
        assert!(assembler
            .push(chunk_of(&data, 1, 5).expect("chunk"))
            .is_err());
        assert!(assembler
            .push(chunk_of(&data, 0, 20).expect("chunk"))
            .is_err());
        let mut assembler = Assembler::new(1_000);
        assembler
            .push(chunk_of(&data, 0, 500).expect("chunk"))
            .expect("first");
        assert!(assembler
            .push(chunk_of(&data, 1, 600).expect("chunk"))
            .is_err());
        assert!(assembler.finish().is_err());
    }
}
