//! Visibility fences on the writer's side: a fence's writes are written at
//! once but published only when it commits; cancelling writes the cancel
//! marker, rolls back chain tips, idempotency keys and ledger entries, and
//! fails the fence's tickets.

use super::{Done, Pub, Reply, Writer};
use crate::event::EventKind;
use crate::store::error::StoreError;
use crate::store::log::frame::{self, TYPE_FENCE_BEGIN, TYPE_FENCE_CANCEL, TYPE_FENCE_COMMIT};
use crate::store::log::recovery::Tip;
use std::sync::atomic::Ordering;

/// The live fence: what to publish and answer on commit, and what to undo on
/// cancel.
pub(super) struct Fence {
    id: u64,
    /// Encoded events, published on commit.
    pub(super) publish: Vec<Pub>,
    /// Tickets answered on commit (or failed on cancel).
    pub(super) replies: Vec<Reply>,
    /// Chain tips to restore on cancel, by entity.
    pub(super) undo: Vec<(u32, Option<Tip>)>,
    /// Idempotency keys to forget on cancel.
    pub(super) keys: Vec<u128>,
    /// Ledger entries written under the fence, forgotten if it is cancelled.
    pub(super) ledger: Vec<(EventKind, u16, [u8; 16])>,
}

impl Writer {
    pub(super) fn begin_fence(&mut self, reply: Done) {
        let result = if self.replica {
            Err(StoreError::Replica)
        } else if self.fence.is_some() {
            Err(StoreError::VisibilityFenceActive)
        } else {
            let id = self.next_fence_id;
            self.next_fence_id += 1;
            self.maybe_rotate();
            frame::put_marker(&mut self.buf, TYPE_FENCE_BEGIN, id, None);
            self.fence = Some(Fence {
                id,
                publish: Vec::new(),
                replies: Vec::new(),
                undo: Vec::new(),
                keys: Vec::new(),
                ledger: Vec::new(),
            });
            Ok(())
        };
        self.group.replies.push(Reply::Done(reply, result));
    }

    pub(super) fn commit_fence(&mut self, reply: Done) {
        let result = match self.fence.take() {
            None => Err(StoreError::NoVisibilityFence),
            Some(fence) => {
                frame::put_marker(&mut self.buf, TYPE_FENCE_COMMIT, fence.id, None);
                if self.config.sync.every_n_events == 1 {
                    self.group.force_sync = true;
                }
                self.group.publish.extend(fence.publish);
                self.group.replies.extend(fence.replies);
                Ok(())
            }
        };
        self.shared.fence_active.store(false, Ordering::Release);
        self.group.replies.push(Reply::Done(reply, result));
    }

    pub(super) fn cancel_fence(&mut self, reply: Done) {
        let result = if self.cancel_fence_if_live() {
            Ok(())
        } else {
            Err(StoreError::NoVisibilityFence)
        };
        self.group.replies.push(Reply::Done(reply, result));
    }

    /// Writes the cancel marker, rolls back the fence's chain tips and keys and
    /// fails its tickets. Returns whether a fence was live.
    pub(super) fn cancel_fence_if_live(&mut self) -> bool {
        let Some(fence) = self.fence.take() else {
            return false;
        };
        frame::put_marker(&mut self.buf, TYPE_FENCE_CANCEL, fence.id, None);
        for (entity, tip) in fence.undo.into_iter().rev() {
            self.names.reset_tip(entity, tip);
        }
        for key in fence.keys {
            self.keys.remove(&key);
        }
        for (kind, version, fingerprint) in fence.ledger {
            self.shared.schemas.forget(kind, version, fingerprint);
        }
        for reply in fence.replies {
            self.group
                .replies
                .push(reply.fail(|| StoreError::VisibilityFenceCancelled));
        }
        self.shared.fence_active.store(false, Ordering::Release);
        true
    }
}
