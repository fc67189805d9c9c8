//! The reply slot of a blocking single append: where the writer puts the
//! answer of a caller that waits for it. A blocking caller has one answer in
//! flight at a time, so each thread keeps one slot and reuses it, instead of
//! allocating a channel per append; when the caller ran the append itself
//! (`combine`), the answer is already there when it looks. A slot whose
//! sender is dropped unanswered (the writer stopped) wakes the caller with
//! `WriterStopped`, so a wait never hangs.

use super::handoff::REPLY_POLL;
use crate::store::error::StoreError;
use crate::store::locking;
use crate::store::options::AppendReceipt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

type Answer = Result<AppendReceipt, StoreError>;

#[derive(Debug, Default)]
struct State {
    answer: Option<Answer>,
    /// The sender was dropped without answering.
    gone: bool,
    /// The caller sleeps on the condition variable (only then is there
    /// anyone to wake: notifying costs a system call).
    sleeping: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    state: Mutex<State>,
    ready: Condvar,
}

/// The writer's end of a slot: answers once; dropped unanswered, it tells
/// the caller the writer stopped.
#[derive(Debug)]
pub(crate) struct SlotSender(Option<Arc<Slot>>);

impl SlotSender {
    /// Delivers the answer.
    pub(crate) fn send(mut self, answer: Answer) {
        if let Some(slot) = self.0.take() {
            slot.put(Some(answer));
        }
    }
}

impl Drop for SlotSender {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.put(None);
        }
    }
}

impl Slot {
    fn put(&self, answer: Option<Answer>) {
        let mut state = locking::lock_for_cleanup(&self.state);
        match answer {
            Some(answer) => state.answer = Some(answer),
            None => state.gone = true,
        }
        if state.sleeping {
            self.ready.notify_one();
        }
    }

    /// Takes the answer, polling for a short while before sleeping.
    fn wait(&self) -> Answer {
        // No clock is read when the answer is already there (the caller ran
        // the append itself).
        let mut start = None;
        loop {
            let mut state = locking::lock(&self.state);
            if let Some(answer) = state.answer.take() {
                return answer;
            }
            if state.gone {
                return Err(StoreError::WriterStopped);
            }
            if start.get_or_insert_with(Instant::now).elapsed() >= REPLY_POLL {
                state.sleeping = true;
                while state.answer.is_none() && !state.gone {
                    state = self.ready.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                state.sleeping = false;
                continue;
            }
            drop(state);
            std::thread::yield_now();
        }
    }
}

thread_local! {
    static SLOT: Arc<Slot> = Arc::new(Slot::default());
}

/// Runs `send` with the writer's end of a slot for this thread's next
/// answer, then waits for that answer. The thread's slot is reused when no
/// sender of it is alive any more (always, after a wait returned); a fresh
/// one is used otherwise.
pub(crate) fn call(
    send: impl FnOnce(SlotSender) -> Result<(), StoreError>,
) -> Result<AppendReceipt, StoreError> {
    let slot = SLOT.with(|slot| {
        if Arc::strong_count(slot) == 1 {
            Arc::clone(slot)
        } else {
            Arc::new(Slot::default())
        }
    });
    *locking::lock(&slot.state) = State::default();
    send(SlotSender(Some(Arc::clone(&slot))))?;
    slot.wait()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_from_another_thread_or_a_dropped_sender_ends_the_wait() {
        let receipt = || AppendReceipt {
            event_id: crate::event::EventId::new(7),
            sequence: 3,
            entity_sequence: 1,
            timestamp_us: 0,
            content_hash: [0; 32],
            signature: None,
        };
        // Answered at once, on this thread.
        let got = call(|tx| {
            tx.send(Ok(receipt()));
            Ok(())
        });
        assert_eq!(got.expect("answered").sequence, 3);
        // Answered late, from another thread: the caller sleeps, then wakes.
        // The delay is not synchronisation (the answer reaches the caller
        // through the slot whenever it comes); it only makes the caller
        // reach the sleeping branch.
        let (hand, take) = std::sync::mpsc::channel::<SlotSender>();
        let answerer = std::thread::spawn(move || {
            let tx = take.recv().expect("a sender");
            std::thread::sleep(REPLY_POLL * 4);
            tx.send(Ok(receipt()));
        });
        let got = call(|tx| {
            hand.send(tx).expect("the answerer waits");
            Ok(())
        });
        assert_eq!(got.expect("answered").event_id.get(), 7);
        answerer.join().expect("answerer");
        // Dropped unanswered: WriterStopped, not a hang; the next call on
        // this thread gets a clean slot.
        let got = call(|tx| {
            drop(tx);
            Ok(())
        });
        assert!(matches!(got, Err(StoreError::WriterStopped)));
        let got = call(|tx| {
            tx.send(Ok(receipt()));
            Ok(())
        });
        assert!(got.is_ok());
        // A send that fails never waits.
        let got = call(|_| Err(StoreError::WriterStopped));
        assert!(matches!(got, Err(StoreError::WriterStopped)));
    }
}
