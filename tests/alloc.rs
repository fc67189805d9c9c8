//! Allocation budgets, watched by a counting global allocator (which can only
//! live in its own test binary): gate evaluation adds no allocation while every
//! gate passes, and a single append stays within a small, fixed number of
//! allocations on all threads together (the caller's and the writer's).

use batpak::gate::{Denial, DenialCode, FnGate, Gate, GateSet};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Wraps the system allocator and counts this thread's allocations, so other
/// threads of the test harness cannot disturb the count; while `GLOBAL_ARMED`
/// is set it also counts every thread's allocations in `GLOBAL_ALLOCATIONS`.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

static GLOBAL_ARMED: AtomicBool = AtomicBool::new(false);
static GLOBAL_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Tests that count globally run one at a time.
static GLOBAL_COUNTING: Mutex<()> = Mutex::new(());

fn count() {
    // `try_with` fails only while the thread is being torn down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    if GLOBAL_ARMED.load(Ordering::Relaxed) {
        GLOBAL_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call forwards to `System` with the same arguments; counting
// touches only a const-initialised thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Order {
    cents: i64,
    limit_cents: i64,
    customer: &'static str,
}

/// A gate written as a type, beside the closures.
struct Known;

impl Gate<Order> for Known {
    fn name(&self) -> &'static str {
        "known_customer"
    }

    fn evaluate(&self, order: &Order) -> Result<(), Denial> {
        if order.customer.is_empty() {
            return Err(Denial::new(DenialCode::new("unknown"), "no customer"));
        }
        Ok(())
    }
}

#[test]
fn passing_gates_do_not_allocate() {
    let _serial = GLOBAL_COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let gates = GateSet::new()
        .with(FnGate::new("positive", |o: &Order| {
            if o.cents > 0 {
                return Ok(());
            }
            Err(Denial::new(
                DenialCode::new("not_positive"),
                "nothing ordered",
            ))
        }))
        .with(FnGate::new("under_limit", |o: &Order| {
            if o.cents <= o.limit_cents {
                return Ok(());
            }
            Err(Denial::new(DenialCode::new("over_limit"), "over the limit")
                .with_context("limit", o.limit_cents))
        }))
        .with(Known);
    let order = Order {
        cents: 250,
        limit_cents: 1_000,
        customer: "alice",
    };
    // Warm-up: anything lazily set up on first use is paid for here.
    assert!(gates.evaluate(&order).is_ok());
    assert!(gates.evaluate_all(&order).is_ok());

    let before = allocations();
    for _ in 0..1_000 {
        let fail_fast = gates.evaluate(black_box(&order));
        let all = gates.evaluate_all(black_box(&order));
        black_box((&fail_fast, &all));
        assert!(fail_fast.is_ok() && all.is_ok());
    }
    let after = allocations();

    assert_eq!(after - before, 0, "passing gates allocated");
}

#[test]
fn the_counter_sees_allocations() {
    let before = allocations();
    let boxed = black_box(Box::new(black_box(7_u64)));
    assert_eq!(*boxed, 7);
    assert!(allocations() > before);
}

/// The most allocations one single append may make, on every thread together,
/// once the entity's name is known: the payload's encoding and whatever the
/// reply channel of its ticket needs (measured: 4; 6 before the writer
/// stopped building vectors for single appends).
const SINGLE_APPEND_ALLOCATIONS_MAX: u64 = 4;

#[test]
fn a_single_append_stays_within_its_allocation_budget() {
    use batpak::prelude::*;
    const APPENDS: u64 = 5_000;
    let _serial = GLOBAL_COUNTING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = StoreConfig::new(dir.path());
    // Fsync cadence does not change what is allocated; a rare fsync keeps the test fast.
    config.sync.every_n_events = 10_000;
    let store = Store::open(config).expect("open");
    let coord = Coordinate::new("account:alloc", "bank").expect("coordinate");
    let kind = EventKind::custom(0x1, 1);
    let payload = serde_json::json!({ "cents": 500 });
    // Warm-up: names, channels, lazily grown buffers and the recycler settle here.
    for _ in 0..1_000 {
        store.append(&coord, kind, &payload).expect("append");
    }
    GLOBAL_ALLOCATIONS.store(0, Ordering::SeqCst);
    GLOBAL_ARMED.store(true, Ordering::SeqCst);
    for _ in 0..APPENDS {
        black_box(
            store
                .append(&coord, kind, black_box(&payload))
                .expect("append"),
        );
    }
    GLOBAL_ARMED.store(false, Ordering::SeqCst);
    let total = GLOBAL_ALLOCATIONS.load(Ordering::SeqCst);
    store.close().expect("close");
    let per_append = total as f64 / APPENDS as f64;
    // The index's vectors grow now and then (amortized), hence a little slack.
    assert!(
        per_append <= SINGLE_APPEND_ALLOCATIONS_MAX as f64 + 0.05,
        "{per_append:.2} allocations per single append ({total} over {APPENDS}), budget {SINGLE_APPEND_ALLOCATIONS_MAX}"
    );
}
