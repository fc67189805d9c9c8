//! Partial reads (issue 13, item 3): entity-sequence ranges forwards and
//! backwards with a limit, iterators that fetch chunk by chunk and see what
//! is published meanwhile, typed iteration, counts from list lengths that
//! agree with the lists, and hierarchical entity names.

use crate::support::{config, coord, open, store_gate, tempdir, KIND_A, KIND_B, KIND_C};
use batpak::coordinate::Region;
use batpak::store::{IndexEntry, Store, StreamRange};

fn seqs(entries: &[IndexEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.entity_sequence).collect()
}

fn filled() -> (tempfile::TempDir, Store) {
    let dir = tempdir();
    let store = open(config(dir.path()).with_sync_every_n_events(1000));
    let kinds = [KIND_A, KIND_B, KIND_C];
    for i in 0..1000u64 {
        store
            .append(&coord("long", "s"), kinds[(i % 3) as usize], &i)
            .expect("append");
        if i % 10 == 0 {
            store
                .append(&coord("short", "t"), KIND_A, &i)
                .expect("append");
        }
    }
    (dir, store)
}

#[test]
fn ranges_forwards_backwards_and_limited() {
    let _gate = store_gate();
    let (_dir, store) = filled();
    let all = store.stream("long");
    assert_eq!(
        seqs(&store.stream_range("long", StreamRange::all())),
        seqs(&all)
    );
    let page = store.stream_range("long", StreamRange::all().from(10).to(19));
    assert_eq!(seqs(&page), (10..=19).collect::<Vec<_>>());
    let last = store.stream_range("long", StreamRange::all().backwards().limit(100));
    assert_eq!(seqs(&last), (901..=1000).rev().collect::<Vec<_>>());
    assert_eq!(last[0], all[999], "the same entries as the whole stream");
    let window = store.stream_range("long", StreamRange::all().to(50).backwards().limit(3));
    assert_eq!(seqs(&window), [50, 49, 48]);
    assert!(store
        .stream_range("long", StreamRange::all().from(2000))
        .is_empty());
    assert!(store.stream_range("nobody", StreamRange::all()).is_empty());
    assert_eq!(store.entity_sequence("long"), 1000);
    assert_eq!(store.entity_sequence("nobody"), 0);
}

#[test]
fn iterators_fetch_in_chunks_and_see_new_events() {
    let _gate = store_gate();
    let (_dir, store) = filled();
    let forwards: Vec<IndexEntry> = store.stream_iter("long", StreamRange::all()).collect();
    assert_eq!(forwards, store.stream("long"));
    let backwards: Vec<u64> = store
        .stream_iter("long", StreamRange::all().backwards().limit(300))
        .map(|e| e.entity_sequence)
        .collect();
    assert_eq!(backwards, (701..=1000).rev().collect::<Vec<_>>());
    // Appended while the iterator runs, inside the range: seen.
    let mut iter = store.stream_iter("long", StreamRange::all().from(990));
    let first: Vec<u64> = iter.by_ref().take(5).map(|e| e.entity_sequence).collect();
    assert_eq!(first, [990, 991, 992, 993, 994]);
    for i in 0..300u64 {
        store
            .append(&coord("long", "s"), KIND_A, &i)
            .expect("append");
    }
    assert_eq!(iter.count(), 6 + 300);
}

#[test]
fn counts_agree_with_the_lists() {
    let _gate = store_gate();
    let (_dir, store) = filled();
    let regions = [
        Region::all(),
        Region::user_events(),
        Region::entity("long"),
        Region::entity("nobody"),
        Region::all().with_kind(KIND_B),
        Region::all().with_kind(KIND_B).with_kind(KIND_C),
        Region::all().with_category(KIND_A.category()),
        Region::all().with_category(KIND_C.category()),
        Region::scope("t"),
        Region::scope("s").with_kind(KIND_A),
        Region::entity("long").with_kind(KIND_C),
        Region::entity_prefix("sh"),
    ];
    for region in &regions {
        assert_eq!(
            store.count(region),
            store.query(region).len() as u64,
            "{region:?}"
        );
    }
    assert_eq!(store.count(&Region::entity("long")), 1000);
    assert_eq!(store.count(&Region::all().with_kind(KIND_A)), 334 + 100);
}

#[test]
fn hierarchical_names_are_matched_at_separators() {
    let _gate = store_gate();
    let dir = tempdir();
    let store = open(config(dir.path()));
    for name in ["user", "user:42", "user:42:cart", "user:420", "username"] {
        store
            .append(&coord(name, "s"), KIND_A, &name)
            .expect("append");
    }
    let names = |region: Region| -> Vec<String> {
        store
            .query(&region)
            .iter()
            .map(|e| e.coordinate.entity().to_owned())
            .collect()
    };
    assert_eq!(
        names(Region::entity_under("user")),
        ["user", "user:42", "user:42:cart", "user:420"]
    );
    assert_eq!(
        names(Region::entity_under("user:42")),
        ["user:42", "user:42:cart"]
    );
    assert_eq!(
        names(Region::entity_prefix("user")).len(),
        5,
        "a plain prefix"
    );
    assert_eq!(store.count(&Region::entity_under("user:42")), 2);
}
