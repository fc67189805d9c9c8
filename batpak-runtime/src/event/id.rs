//! Event ids: UUIDv7-shaped u128 values that are unique and strictly increasing in
//! commit order. The writer thread owns the only [`IdClock`] of a store, a hybrid
//! logical clock: it follows the wall clock in microseconds but never goes back,
//! and a counter orders events within one microsecond.
//!
//! Layout (most significant first): 48 bits unix milliseconds, 4 bits version (7),
//! 12 bits microseconds within the millisecond, 2 bits variant (`10`), 62 bits counter.

use std::time::{SystemTime, UNIX_EPOCH};

const COUNTER_BITS: u32 = 62;
pub(crate) const COUNTER_MASK: u128 = (1 << COUNTER_BITS) - 1;

/// The microsecond timestamp encoded in an event id.
pub fn timestamp_us(id: u128) -> u64 {
    let ms = (id >> 80) as u64;
    let sub_us = ((id >> 64) & 0xFFF) as u64;
    ms * 1000 + sub_us
}

/// The id at `ts_us` microseconds with counter `counter`.
pub(crate) fn compose(ts_us: u64, counter: u64) -> u128 {
    let ms = (ts_us / 1000) as u128 & ((1 << 48) - 1);
    let sub = (ts_us % 1000) as u128;
    (ms << 80) | (0x7 << 76) | (sub << 64) | (0b10 << 62) | (counter as u128 & COUNTER_MASK)
}

/// Whether `id` has the layout this clock writes (version 7, variant `10`,
/// microseconds within the millisecond below 1000) and is not in the layout's
/// last millisecond: exactly the ids a clock can resume after and still find
/// a greater one.
pub fn is_clock_id(id: u128) -> bool {
    let ms = id >> 80;
    let version = (id >> 76) & 0xF;
    let sub_us = (id >> 64) & 0xFFF;
    let variant = (id >> 62) & 0b11;
    version == 7 && variant == 0b10 && sub_us < 1000 && ms < (1 << 48) - 1
}

/// Microseconds since the Unix epoch now.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The id generator of one writer.
#[derive(Debug, Clone)]
pub struct IdClock {
    last: u128,
}

impl IdClock {
    /// A clock whose next id is greater than `after` (0 for a new store).
    pub fn resume_after(after: u128) -> Self {
        Self { last: after }
    }

    /// The last id returned (or resumed after).
    pub fn last(&self) -> u128 {
        self.last
    }

    /// The next id: strictly greater than every id this clock returned or resumed after.
    pub fn next_id(&mut self) -> u128 {
        self.next_id_at(now_us())
    }

    /// The next id for wall-clock time `now` (microseconds since the epoch); a
    /// batch reads the clock once and stamps all its events from it.
    pub fn next_id_at(&mut self, now: u64) -> u128 {
        let last_us = timestamp_us(self.last);
        let id = if now > last_us {
            compose(now, 0)
        } else {
            let counter = (self.last & COUNTER_MASK) as u64;
            if counter as u128 == COUNTER_MASK {
                compose(last_us + 1, 0)
            } else {
                compose(last_us, counter + 1)
            }
        };
        debug_assert!(id > self.last);
        self.last = id;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_increase_and_carry_time() {
        let mut clock = IdClock::resume_after(0);
        let mut prev = 0;
        for _ in 0..10_000 {
            let id = clock.next_id();
            assert!(id > prev);
            assert_eq!((id >> 76) & 0xF, 7);
            prev = id;
        }
        let ts = timestamp_us(prev);
        assert!(ts.abs_diff(now_us()) < 5_000_000);
    }

    #[test]
    fn the_clock_goes_up_after_every_clock_id() {
        let max_ms: u64 = (1 << 48) - 2;
        let mut state = 0x1D5_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let edges = [0, 1, 999_999, max_ms * 1000 + 999];
        for round in 0..20_000 {
            let ts = if round % 4 == 0 {
                edges[round / 4 % edges.len()]
            } else {
                next() % (max_ms * 1000 + 1000)
            };
            let counter = if round % 3 == 0 {
                COUNTER_MASK as u64
            } else {
                next()
            };
            let last = compose(ts, counter);
            assert!(is_clock_id(last), "{last:#x}");
            let now = match round % 3 {
                0 => ts,
                1 => next() % (max_ms * 1000),
                _ => 0,
            };
            let mut clock = IdClock::resume_after(last);
            assert!(clock.next_id_at(now) > last, "after {last:#x} at {now}");
        }
        assert!(!is_clock_id(0));
        assert!(!is_clock_id(u128::MAX));
        assert!(!is_clock_id(compose(1, 1) & !(0xF << 76)));
        assert!(!is_clock_id(compose((max_ms + 1) * 1000, 0)));
    }

    #[test]
    fn resumes_after_a_future_id() {
        let future = compose(now_us() + 60_000_000, 5);
        let mut clock = IdClock::resume_after(future);
        assert!(clock.next_id() > future);
    }
}
