//! Wire formats: length-prefixed frames on the message stream, and the sync protocol's codec.
//!
//! Every length is a big-endian `u32` checked against its limit before anything is allocated.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;

use super::{
    NetworkError, CERTIFICATION_NOTICE_BYTES_MAX, FRAME_BYTES_MAX, SYNC_REQUEST_BYTES_MAX,
    SYNC_RESPONSE_BYTES_MAX, TRANSACTIONS_PER_BATCH_MAX,
};

/// The ordered message stream (consensus messages and forwarded transactions).
pub(crate) const MESSAGE_PROTOCOL: StreamProtocol = StreamProtocol::new("/vchain/msg/1");
/// Block and state sync, request-response.
pub(crate) const SYNC_PROTOCOL: StreamProtocol = StreamProtocol::new("/vchain/sync/1");

const KIND_CONSENSUS: u8 = 0;
const KIND_TRANSACTIONS: u8 = 1;
const KIND_CLOCK: u8 = 2;
const KIND_INCARNATIONS: u8 = 3;
const KIND_CERTIFICATION: u8 = 4;
/// Largest incarnation notice (an own record and one per consensus node, ~100 bytes each).
pub(crate) const INCARNATIONS_BYTES_MAX: usize = 64 * 1024;
/// Kind byte plus transaction count.
const TRANSACTIONS_HEADER_BYTES: usize = 1 + 4;

/// One message on the message stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A consensus message.
    Consensus(Vec<u8>),
    /// Transactions forwarded or broadcast.
    Transactions(Vec<Vec<u8>>),
    /// The sender's wall clock, milliseconds since the Unix epoch (see `block_time`).
    Clock(u64),
    /// The sender's consensus incarnation and those it knows of (see `incarnation`), opaque
    /// here; also the first frame of every message stream.
    Incarnations(Vec<u8>),
    /// The sender's signature of a block it applied (see `certification`), opaque here.
    Certification(Vec<u8>),
}

impl Frame {
    /// The frame's body (without the outer length prefix), checked against the limits.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, NetworkError> {
        let body = match self {
            Frame::Consensus(bytes) => {
                let mut body = Vec::with_capacity(1 + bytes.len());
                body.push(KIND_CONSENSUS);
                body.extend_from_slice(bytes);
                body
            }
            Frame::Transactions(txs) => {
                if txs.len() > TRANSACTIONS_PER_BATCH_MAX {
                    return Err(NetworkError::TooLarge {
                        what: "transaction batch",
                        got: txs.len(),
                        max: TRANSACTIONS_PER_BATCH_MAX,
                    });
                }
                let total =
                    TRANSACTIONS_HEADER_BYTES + txs.iter().map(|tx| 4 + tx.len()).sum::<usize>();
                if total > FRAME_BYTES_MAX {
                    return Err(NetworkError::TooLarge {
                        what: "transaction batch bytes",
                        got: total,
                        max: FRAME_BYTES_MAX,
                    });
                }
                let mut body = Vec::with_capacity(total);
                body.push(KIND_TRANSACTIONS);
                body.extend_from_slice(&length_prefix(txs.len())?);
                for tx in txs {
                    body.extend_from_slice(&length_prefix(tx.len())?);
                    body.extend_from_slice(tx);
                }
                body
            }
            Frame::Incarnations(bytes) => {
                if bytes.len() > INCARNATIONS_BYTES_MAX {
                    return Err(NetworkError::TooLarge {
                        what: "incarnation notice",
                        got: bytes.len(),
                        max: INCARNATIONS_BYTES_MAX,
                    });
                }
                let mut body = Vec::with_capacity(1 + bytes.len());
                body.push(KIND_INCARNATIONS);
                body.extend_from_slice(bytes);
                body
            }
            Frame::Certification(bytes) => {
                if bytes.len() > CERTIFICATION_NOTICE_BYTES_MAX {
                    return Err(NetworkError::TooLarge {
                        what: "certification signature",
                        got: bytes.len(),
                        max: CERTIFICATION_NOTICE_BYTES_MAX,
                    });
                }
                let mut body = Vec::with_capacity(1 + bytes.len());
                body.push(KIND_CERTIFICATION);
                body.extend_from_slice(bytes);
                body
            }
            Frame::Clock(wall_ms) => {
                let mut body = Vec::with_capacity(9);
                body.push(KIND_CLOCK);
                body.extend_from_slice(&wall_ms.to_be_bytes());
                body
            }
        };
        if body.len() > FRAME_BYTES_MAX {
            return Err(NetworkError::TooLarge {
                what: "message",
                got: body.len(),
                max: FRAME_BYTES_MAX,
            });
        }
        Ok(body)
    }

    /// Parses a frame body; refuses trailing bytes, unknown kinds and over-limit batches.
    pub(crate) fn decode(body: &[u8]) -> io::Result<Frame> {
        let (&kind, rest) = body
            .split_first()
            .ok_or_else(|| invalid_data("empty frame".to_owned()))?;
        match kind {
            KIND_CONSENSUS => Ok(Frame::Consensus(rest.to_vec())),
            KIND_TRANSACTIONS => {
                let mut cursor = rest;
                let count = take_u32(&mut cursor)? as usize;
                if count > TRANSACTIONS_PER_BATCH_MAX {
                    return Err(invalid_data(format!(
                        "{count} transactions > {TRANSACTIONS_PER_BATCH_MAX}"
                    )));
                }
                let mut txs = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = take_u32(&mut cursor)? as usize;
                    if len > cursor.len() {
                        return Err(invalid_data("transaction overruns its frame".to_owned()));
                    }
                    let (tx, rest) = cursor.split_at(len);
                    txs.push(tx.to_vec());
                    cursor = rest;
                }
                if !cursor.is_empty() {
                    return Err(invalid_data(format!(
                        "{} trailing bytes after transactions",
                        cursor.len()
                    )));
                }
                Ok(Frame::Transactions(txs))
            }
            KIND_INCARNATIONS if rest.len() <= INCARNATIONS_BYTES_MAX => {
                Ok(Frame::Incarnations(rest.to_vec()))
            }
            KIND_INCARNATIONS => Err(invalid_data(format!(
                "an incarnation notice of {} bytes",
                rest.len()
            ))),
            KIND_CERTIFICATION if rest.len() <= CERTIFICATION_NOTICE_BYTES_MAX => {
                Ok(Frame::Certification(rest.to_vec()))
            }
            KIND_CERTIFICATION => Err(invalid_data(format!(
                "a certification signature of {} bytes",
                rest.len()
            ))),
            KIND_CLOCK => {
                let wall_ms: [u8; 8] = rest
                    .try_into()
                    .map_err(|_| invalid_data(format!("a clock frame of {} bytes", rest.len())))?;
                Ok(Frame::Clock(u64::from_be_bytes(wall_ms)))
            }
            other => Err(invalid_data(format!("unknown frame kind {other}"))),
        }
    }
}

/// Splits `txs` into batches that each fit one transactions frame: at most
/// [`TRANSACTIONS_PER_BATCH_MAX`] transactions and [`FRAME_BYTES_MAX`] bytes, in order. A
/// transaction too large for any frame goes alone (its encoding then fails with `TooLarge`).
pub(crate) fn frame_batches(txs: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
    let mut batches = Vec::new();
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut bytes = TRANSACTIONS_HEADER_BYTES;
    for tx in txs {
        let size = 4 + tx.len();
        if !batch.is_empty()
            && (batch.len() == TRANSACTIONS_PER_BATCH_MAX || bytes + size > FRAME_BYTES_MAX)
        {
            batches.push(std::mem::take(&mut batch));
            bytes = TRANSACTIONS_HEADER_BYTES;
        }
        bytes += size;
        batch.push(tx);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

fn take_u32(cursor: &mut &[u8]) -> io::Result<u32> {
    let Some((head, rest)) = cursor.split_first_chunk::<4>() else {
        return Err(invalid_data("truncated length".to_owned()));
    };
    *cursor = rest;
    Ok(u32::from_be_bytes(*head))
}

fn length_prefix(len: usize) -> Result<[u8; 4], NetworkError> {
    u32::try_from(len)
        .map(u32::to_be_bytes)
        .map_err(|_| NetworkError::TooLarge {
            what: "length",
            got: len,
            max: u32::MAX as usize,
        })
}

fn invalid_data(why: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// Writes `bytes` with a length prefix (does not flush).
pub(crate) async fn write_prefixed<T>(io: &mut T, bytes: &[u8], bytes_max: usize) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    if bytes.len() > bytes_max {
        return Err(invalid_data(format!(
            "{} bytes > limit {bytes_max}",
            bytes.len()
        )));
    }
    let prefix = u32::try_from(bytes.len())
        .map_err(|_| invalid_data("length does not fit u32".to_owned()))?
        .to_be_bytes();
    io.write_all(&prefix).await?;
    io.write_all(bytes).await
}

/// Reads one length-prefixed message of at most `bytes_max` bytes. `Ok(None)` on a clean end
/// of stream before the prefix.
pub(crate) async fn read_prefixed<T>(io: &mut T, bytes_max: usize) -> io::Result<Option<Vec<u8>>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; 4];
    let mut filled = 0;
    while filled < prefix.len() {
        let read = io.read(&mut prefix[filled..]).await?;
        if read == 0 {
            if filled == 0 {
                return Ok(None);
            }
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += read;
    }
    let len = u32::from_be_bytes(prefix) as usize;
    if len > bytes_max {
        return Err(invalid_data(format!("{len} bytes > limit {bytes_max}")));
    }
    let mut bytes = vec![0u8; len];
    io.read_exact(&mut bytes).await?;
    Ok(Some(bytes))
}

/// The sync protocol's codec: opaque, length-prefixed request and response bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SyncCodec;

impl libp2p::request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_prefixed(io, SYNC_REQUEST_BYTES_MAX)
            .await?
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_prefixed(io, SYNC_RESPONSE_BYTES_MAX)
            .await?
            .ok_or_else(|| io::ErrorKind::UnexpectedEof.into())
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_prefixed(io, &request, SYNC_REQUEST_BYTES_MAX).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_prefixed(io, &response, SYNC_RESPONSE_BYTES_MAX).await?;
        io.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_transactions_are_forwarded_in_several_frames() {
        // 300 transactions of 64 KiB: more than one frame holds.
        let txs: Vec<Vec<u8>> = (0..300u32).map(|i| vec![i as u8; 64 * 1024]).collect();
        let batches = frame_batches(txs.clone());
        assert!(batches.len() > 1);
        for batch in &batches {
            let body = Frame::Transactions(batch.clone())
                .encode()
                .expect("each batch fits a frame");
            assert!(body.len() <= FRAME_BYTES_MAX);
        }
        assert_eq!(batches.concat(), txs, "every transaction, in order");
        let many: Vec<Vec<u8>> = vec![vec![1]; TRANSACTIONS_PER_BATCH_MAX + 1];
        assert_eq!(frame_batches(many).len(), 2);
        assert!(frame_batches(Vec::new()).is_empty());
    }

    #[test]
    fn frames_round_trip_and_malformed_frames_are_refused() {
        for frame in [
            Frame::Consensus(vec![]),
            Frame::Consensus(b"vote".to_vec()),
            Frame::Transactions(vec![]),
            Frame::Transactions(vec![b"a".to_vec(), vec![], vec![7; 1000]]),
            Frame::Certification(vec![3; 104]),
        ] {
            let body = frame.encode().expect("encode");
            assert_eq!(Frame::decode(&body).expect("decode"), frame);
        }
        assert!(Frame::decode(&[]).is_err());
        assert!(Frame::decode(&[9]).is_err());
        assert!(Frame::decode(&[KIND_TRANSACTIONS, 0, 0, 0, 1, 0, 0, 0, 5, 1]).is_err());
        assert!(Frame::decode(&[KIND_TRANSACTIONS, 0, 0, 0, 0, 1]).is_err());
        assert!(Frame::Consensus(vec![0; FRAME_BYTES_MAX]).encode().is_err());
        assert!(
            Frame::Certification(vec![0; CERTIFICATION_NOTICE_BYTES_MAX + 1])
                .encode()
                .is_err()
        );
        let mut oversized = vec![KIND_CERTIFICATION];
        oversized.extend_from_slice(&[0; CERTIFICATION_NOTICE_BYTES_MAX + 1]);
        assert!(Frame::decode(&oversized).is_err());
        assert!(
            Frame::Transactions(vec![vec![]; TRANSACTIONS_PER_BATCH_MAX + 1])
                .encode()
                .is_err()
        );
    }

    #[test]
    fn prefixed_reads_honour_the_limit() {
        futures::executor::block_on(async {
            let mut buffer = Vec::new();
            write_prefixed(&mut buffer, b"hello", 16)
                .await
                .expect("write");
            let mut reader = futures::io::Cursor::new(buffer.clone());
            assert_eq!(
                read_prefixed(&mut reader, 16).await.expect("read"),
                Some(b"hello".to_vec())
            );
            assert_eq!(read_prefixed(&mut reader, 16).await.expect("eof"), None);
            let mut reader = futures::io::Cursor::new(buffer);
            assert!(read_prefixed(&mut reader, 4).await.is_err());
            assert!(write_prefixed(&mut Vec::new(), &[0; 17], 16).await.is_err());
        });
    }
}
