//! Blocks committed behind the block producer: a block's write batch is built on the caller's
//! thread but for its tree pages, which are built, put in the batch, and the batch written and
//! synced, on a thread of its own, so the caller executes and prepares the next block meanwhile
//! ([`RocksLedger::stage_block`]).
//!
//! Owns: the one block whose synced write may be in flight, and when each reader sees it. Must
//! not depend on: anything above the ledger; the caller decides when it may acknowledge a block
//! ([`RocksLedger::wait_committed`]).
//!
//! # Why
//! A block's commit was about two fifths of the in-process pipeline (execute, tree, commit), and
//! the write and sync of its batch, waiting on the disk, a large part of that: time in which the
//! producer's thread did nothing else. Issue 16's in-process and end-to-end figures are bound by
//! that one thread.
//!
//! # Visibility
//! - Every reader of the store (the API, proofs, snapshots, [`RocksLedger::head`]) sees a staged
//!   block only once its write is durable: RocksDB makes a batch visible when it is written,
//!   whole, and the write is synced before it returns.
//! - The block producer's caches hold it from the moment it is staged: the values
//!   [`RocksLedger::cached_state`] reads (a value the cache does not hold is looked up in the
//!   staged block's writes before the store) at once, and the tree pages
//!   [`RocksLedger::prepare_state`] reads once the writing thread has built them: it takes the
//!   writer's page cache with it and gives it back, the block's pages in it, before it writes;
//!   whatever locks the writer waits for that first. Building the pages was most of a block's
//!   commit on the producer's thread, and the next block's execution, which reads no page, runs
//!   meanwhile. So the next block executes and prepares on top of it, and
//!   [`RocksLedger::staged_head`] says what it builds on.
//! - At most one block is in flight: staging the next one waits for it first, and so does
//!   everything that orders itself against commits under the writer lock (a checkpoint, a
//!   snapshot install, a certificate, a past block, archiving).
//!
//! # Failure
//! A failed write (or pages that could not be built: a committed page unreadable) leaves the
//! store at the block before it (a batch is atomic). The caches, which
//! already held the block, are emptied, and every later stage or wait is refused with
//! [`LedgerError::StagedWriteFailed`] until the ledger is reopened: the caller must stop. Nothing
//! was acknowledged for the block if the caller acknowledges only what
//! [`RocksLedger::wait_committed`] reported durable.

use std::cell::RefCell;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, MutexGuard};
use std::thread::JoinHandle;

use rocksdb::{WriteBatch, WriteOptions, DB};

use super::tree_pages::PageCache;
use super::{cf_of, put_pages, CachedTree, ChainHead, RocksLedger, CF_TREE_PAGES};
use crate::tree::TreeUpdate;
use crate::LedgerError;

/// The block whose write may be in flight.
#[derive(Debug, Default)]
pub(super) enum Staged {
    /// Every staged block is durable.
    #[default]
    Idle,
    /// A block's batch is being written and synced.
    Writing {
        /// The head once it is durable.
        head: ChainHead,
        /// Where the writing thread gives the writer's page cache back, the block's pages in
        /// it (or says why it could not build them); taken by the first to lock the writer.
        pages: Option<Receiver<Result<PageCache, String>>>,
        /// The thread writing it; its error is RocksDB's words. Taken out by the one waiting
        /// for it (under the writer lock), so that this lock is never held across the disk's
        /// wait: [`RocksLedger::staged_head`] answers at once.
        write: Option<JoinHandle<Result<(), String>>>,
    },
    /// A staged block's write failed; the ledger refuses to go on (see the module's doc).
    Failed {
        /// Its height.
        height: u64,
        /// What RocksDB said.
        why: String,
    },
}

impl Staged {
    fn refusal(height: u64, why: &str) -> LedgerError {
        LedgerError::StagedWriteFailed {
            height,
            why: why.to_owned(),
        }
    }
}

/// What runs on the writing thread before the write: nothing, unless a test holds the write back
/// at a gate until it lets it go, or fails it ([`RocksLedger::gate_next_write`]).
pub(super) type BeforeWrite = Box<dyn FnOnce() -> Result<(), String> + Send>;

/// The tree pages of a staged block, for the writing thread to build: the writer's page cache
/// (the committed tree's pages it holds) goes with them and comes back on `built`.
pub(super) struct PagesJob {
    /// The writer's page cache: equal to the store, nothing being staged.
    pub(super) cache: PageCache,
    /// The block's tree update (a copy: the caller keeps its own).
    pub(super) update: TreeUpdate,
    /// Where the cache goes back, the block's pages staged in it.
    pub(super) built: Sender<Result<PageCache, String>>,
}

/// Builds `pages` into `batch`, gives the page cache back, then writes and syncs `batch` on a
/// thread of its own; the block at `height` is durable when the thread returns `Ok`.
pub(super) fn write_behind(
    db: Arc<DB>,
    mut batch: WriteBatch,
    pages: PagesJob,
    height: u64,
    before_write: BeforeWrite,
) -> Result<JoinHandle<Result<(), String>>, LedgerError> {
    let span = tracing::info_span!("write_block", height);
    std::thread::Builder::new()
        .name("ledger-write".into())
        .spawn(move || {
            let _entered = span.enter();
            let PagesJob {
                mut cache,
                update,
                built,
            } = pages;
            let written = CachedTree {
                db: &db,
                cache: RefCell::new(&mut cache),
            }
            .page_writes(&update)
            .and_then(|written| {
                put_pages(&mut batch, cf_of(&db, CF_TREE_PAGES)?, &written);
                Ok(written)
            });
            match written {
                Ok(written) => {
                    cache.stage(written);
                    // Nobody waiting any more (the ledger is closing) is no reason not to write.
                    let _ = built.send(Ok(cache));
                }
                Err(error) => {
                    let why = format!("building the tree pages: {error}");
                    let _ = built.send(Err(why.clone()));
                    return Err(why);
                }
            }
            before_write()?;
            let mut options = WriteOptions::default();
            options.set_sync(true);
            db.write_opt(batch, &options)
                .map_err(rocksdb::Error::into_string)
        })
        .map_err(|error| LedgerError::Storage {
            what: format!("starting the write of block {height}"),
            source: Box::new(error),
        })
}

impl RocksLedger {
    /// What the writing thread runs before the write: the gate set with
    /// [`RocksLedger::gate_next_write`], if any (`true` from it writes, `false` fails the write);
    /// nothing otherwise.
    pub(super) fn before_write(&self) -> BeforeWrite {
        match self
            .write_gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            None => Box::new(|| Ok(())),
            Some(gate) => Box::new(move || match gate.recv() {
                Ok(true) => Ok(()),
                Ok(false) | Err(_) => Err("fault injection failed this write".to_owned()),
            }),
        }
    }

    /// Fault injection, for tests of what is built on the write-behind path (the node's): holds
    /// the next staged write back until `true` (write it) or `false` (fail it, as a disk error
    /// or a crash before the sync would) is sent on the returned sender, or the sender is
    /// dropped (fail it). Never called by a running node.
    #[doc(hidden)]
    pub fn gate_next_write(&self) -> std::sync::mpsc::Sender<bool> {
        let (sender, receiver) = std::sync::mpsc::channel();
        *self
            .write_gate
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(receiver);
        sender
    }

    /// Puts the page cache the thread writing a staged block took back into `writer` (the writer
    /// lock's), waiting until that thread has built the block's pages into it. Refused, the
    /// ledger then refusing every later commit, if it could not.
    pub(super) fn take_back_pages(&self, writer: &mut PageCache) -> Result<(), LedgerError> {
        let (height, pages) = match &mut *self.lock_staged() {
            Staged::Writing { head, pages, .. } => match pages.take() {
                Some(pages) => (head.height, pages),
                None => return Ok(()),
            },
            Staged::Idle | Staged::Failed { .. } => return Ok(()),
        };
        let why = match pages.recv() {
            Ok(Ok(cache)) => {
                *writer = cache;
                return Ok(());
            }
            Ok(Err(why)) => why,
            Err(_) => "the thread writing it stopped before it built the tree pages".to_owned(),
        };
        Err(self.fail_staged(writer, height, why))
    }

    /// Records that the staged block at `height` will never be durable (`why`): the caches,
    /// which held it, are emptied (the store is at the block before; a reopen reads it as it
    /// is), and every later stage, commit or wait is refused (the caller stops). Returns that
    /// refusal.
    fn fail_staged(&self, pages: &mut PageCache, height: u64, why: String) -> LedgerError {
        pages.clear();
        self.lock_state_cache().clear();
        tracing::error!(height, %why, "a staged block was not written; the ledger refuses further commits");
        let refusal = Staged::refusal(height, &why);
        *self.lock_staged() = Staged::Failed { height, why };
        refusal
    }

    pub(super) fn lock_staged(&self) -> MutexGuard<'_, Staged> {
        // Held only by the writer-lock holder, never across a panic that matters: a poisoned
        // lock still holds a consistent `Staged`.
        self.staged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The writer lock, once no staged write is in flight: for everything that orders itself
    /// against commits and reads or rewrites what a commit writes.
    pub(super) fn lock_writer_settled(&self) -> Result<MutexGuard<'_, PageCache>, LedgerError> {
        let mut writer = self.lock_writer()?;
        self.finish_staged(&mut writer)?;
        Ok(writer)
    }

    /// Waits until every staged block is durable; returns the head the last one made, if one
    /// was in flight. Refused with [`LedgerError::StagedWriteFailed`] if a staged write failed
    /// (now or before).
    pub fn wait_committed(&self) -> Result<Option<ChainHead>, LedgerError> {
        let mut writer = self.lock_writer()?;
        self.finish_staged(&mut writer)
    }

    /// The head of the block staged and still being written, if any: what the next block builds
    /// on while [`RocksLedger::head`] (durable blocks only) still names the one before.
    pub fn staged_head(&self) -> Option<ChainHead> {
        match &*self.lock_staged() {
            Staged::Writing { head, .. } => Some(*head),
            Staged::Idle | Staged::Failed { .. } => None,
        }
    }

    /// True if no staged write is still running: [`wait_committed`](Self::wait_committed) then
    /// returns without waiting on the disk (or with the write's failure).
    pub fn staged_write_done(&self) -> bool {
        match &*self.lock_staged() {
            // Someone waits for it (`write` taken): not done until they are.
            Staged::Writing { write, .. } => write.as_ref().is_some_and(JoinHandle::is_finished),
            Staged::Idle | Staged::Failed { .. } => true,
        }
    }

    /// Waits for the staged write in flight, if any, and brings the caches to it: the writer
    /// lock (`pages`) is held, so no other block is staged meanwhile.
    pub(super) fn finish_staged(
        &self,
        pages: &mut PageCache,
    ) -> Result<Option<ChainHead>, LedgerError> {
        let (head, write) = {
            let mut staged = self.lock_staged();
            match &mut *staged {
                Staged::Idle => return Ok(None),
                Staged::Failed { height, why } => return Err(Staged::refusal(*height, why)),
                Staged::Writing { head, write, .. } => match write.take() {
                    Some(write) => (*head, write),
                    // Only the writer-lock holder waits, so this is a waiter that panicked
                    // (a RocksDB panic re-raised below): the write's fate is unknown.
                    None => {
                        let height = head.height;
                        let why = "the wait for this write was interrupted by a panic";
                        *staged = Staged::Failed {
                            height,
                            why: why.to_owned(),
                        };
                        return Err(Staged::refusal(height, why));
                    }
                },
            }
        };
        // The staged block stays named (`staged_head`) while its write is waited for; only the
        // writer lock is held across the wait.
        // A panic while writing is RocksDB's bug; re-raise it here.
        let written = write
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if let Err(why) = written {
            return Err(self.fail_staged(pages, head.height, why));
        }
        *self.lock_staged() = Staged::Idle;
        self.check_committed(&head)?;
        // Durable: the caches may forget what they held for it.
        pages.trim();
        self.lock_state_cache().settle();
        Ok(Some(head))
    }
}
