//! Derived projections against a hand-written `EventSourced` over the same
//! events, through the store, with and without narrowing to some variants, over
//! several families, across a bumped `cache_version`; and a family's stable
//! name across a Rust rename.

use batpak::event::{Event, TypedInput};
use batpak::prelude::*;
use batpak::schema::SchemaError;
use batpak::store::{DecodeError, Freshness, NativeCache, StoreError};
use batpak::{Apply, EventFamily, EventMeta};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x9)]
pub enum Player {
    #[batpak(id = 1)]
    Joined { name: String },
    #[batpak(id = 2)]
    Moved { x: i32, y: i32 },
    #[batpak(id = 3)]
    Left,
}

/// Another family on the same entities, which the projections must not see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0xA, id = 1)]
pub struct Chatted {
    pub text: String,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Player)]
pub struct Stats {
    moves: u64,
    name: Option<String>,
    left: bool,
    last_sequence: u64,
}

impl Apply<Player> for Stats {
    fn apply(&mut self, event: &Player, meta: &EventMeta) {
        fold(self, event, meta);
    }
}

fn fold(stats: &mut Stats, event: &Player, meta: &EventMeta) {
    match event {
        Player::Joined { name } => stats.name = Some(name.clone()),
        Player::Moved { .. } => stats.moves += 1,
        Player::Left => stats.left = true,
    }
    stats.last_sequence = meta.header.position.entity_sequence;
}

/// The same fold, written by hand.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manual(Stats);

impl EventSourced for Manual {
    type Input = TypedInput<Player>;

    fn from_events(events: &[Event<Player>]) -> Option<Self> {
        let mut state = Manual::default();
        for event in events {
            state.apply_event(event);
        }
        (!events.is_empty()).then_some(state)
    }

    fn apply_event(&mut self, event: &Event<Player>) {
        fold(&mut self.0, &event.payload, &EventMeta::of(event));
    }

    fn relevant_event_kinds() -> &'static [EventKind] {
        Player::KIND_LIST
    }
}

/// Only moves.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Player, variants(Moved))]
pub struct Moves {
    count: u64,
    seen_other: bool,
}

impl Apply<Player> for Moves {
    fn apply(&mut self, event: &Player, _: &EventMeta) {
        match event {
            Player::Moved { .. } => self.count += 1,
            _ => self.seen_other = true,
        }
    }
}

fn play(store: &Store, entity: &str) {
    let c = Coordinate::new(entity, "game").unwrap();
    let chat = Chatted { text: "hi".into() };
    store
        .append_typed(&c, &Player::Joined { name: "ada".into() })
        .unwrap();
    store.append_typed(&c, &chat).unwrap();
    for i in 0..5 {
        store
            .append_typed(&c, &Player::Moved { x: i, y: -i })
            .unwrap();
    }
    store.append_typed(&c, &chat).unwrap();
    store.append_typed(&c, &Player::Left).unwrap();
}

#[test]
fn a_derived_projection_equals_the_hand_written_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    play(&store, "player:1");
    let derived: Stats = store.project_typed("player:1").unwrap().unwrap();
    let manual: Manual = store
        .project("player:1", &Freshness::Consistent)
        .unwrap()
        .unwrap();
    assert_eq!(derived, manual.0);
    assert_eq!(
        derived,
        Stats {
            moves: 5,
            name: Some("ada".into()),
            left: true,
            last_sequence: 9,
        }
    );
    assert_eq!(store.project_typed::<Stats>("nobody").unwrap(), None);

    // Incremental: one more event after a cached state.
    let c = Coordinate::new("player:1", "game").unwrap();
    store
        .append_typed(&c, &Player::Moved { x: 9, y: 9 })
        .unwrap();
    let derived: Stats = store.project_typed("player:1").unwrap().unwrap();
    assert_eq!((derived.moves, derived.last_sequence), (6, 10));
    store.close().unwrap();
}

#[test]
fn the_derived_impl_folds_events_directly() {
    assert!(Stats::from_events(&[]).is_none());
    assert!(<Stats as EventSourced>::supports_incremental_apply());
    assert_eq!(Stats::relevant_event_kinds(), Player::KIND_LIST);
    assert_eq!(Moves::relevant_event_kinds(), &[Player::MOVED]);
}

#[test]
fn a_narrowed_projection_replays_only_its_variants() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    play(&store, "player:2");
    let moves: Moves = store.project_typed("player:2").unwrap().unwrap();
    assert_eq!(
        moves,
        Moves {
            count: 5,
            seen_other: false
        }
    );
    store.close().unwrap();
}

mod shape_a {
    #[derive(Default, serde::Serialize, serde::Deserialize, batpak::Projection)]
    #[batpak(events = super::Player)]
    pub struct Tally {
        pub n: u64,
    }
    impl batpak::Apply<super::Player> for Tally {
        fn apply(&mut self, _: &super::Player, _: &batpak::EventMeta) {
            self.n += 1;
        }
    }
}

mod shape_b {
    #[derive(Default, serde::Serialize, serde::Deserialize, batpak::Projection)]
    #[batpak(events = super::Player)]
    pub struct Tally {
        pub n: u32,
    }
    impl batpak::Apply<super::Player> for Tally {
        fn apply(&mut self, _: &super::Player, _: &batpak::EventMeta) {
            self.n += 1;
        }
    }
}

mod shape_a_again {
    #[derive(Default, serde::Serialize, serde::Deserialize, batpak::Projection)]
    #[batpak(events = super::Player)]
    pub struct Tally {
        pub n: u64,
    }
    impl batpak::Apply<super::Player> for Tally {
        fn apply(&mut self, _: &super::Player, _: &batpak::EventMeta) {
            self.n += 1;
        }
    }
}

#[test]
fn the_cache_identity_follows_the_state_shape() {
    let a = <shape_a::Tally as EventSourced>::schema_version();
    let b = <shape_b::Tally as EventSourced>::schema_version();
    let again = <shape_a_again::Tally as EventSourced>::schema_version();
    assert_ne!(a, b, "a changed field type changes the identity");
    assert_eq!(a, again, "the same shape keeps it");
    assert_ne!(a, <Stats as EventSourced>::schema_version());
}

/// Items in carts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0xB)]
pub enum Cart {
    #[batpak(id = 1)]
    Added { sku: String, qty: u32 },
    #[batpak(id = 2)]
    Removed { sku: String },
}

/// Items on shelves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0xC)]
pub enum Stock {
    #[batpak(id = 1)]
    Received { sku: String, qty: u32 },
    #[batpak(id = 2)]
    Reserved { qty: u32 },
}

/// A projection over both families: what happened, in the order it happened.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Cart, events = Stock)]
pub struct Shop {
    log: Vec<(u64, String)>,
    in_cart: u32,
    on_shelf: u32,
}

impl Apply<Cart> for Shop {
    fn apply(&mut self, event: &Cart, meta: &EventMeta) {
        let line = match event {
            Cart::Added { sku, qty } => {
                self.in_cart += qty;
                format!("cart +{qty} {sku}")
            }
            Cart::Removed { sku } => {
                self.in_cart = self.in_cart.saturating_sub(1);
                format!("cart -1 {sku}")
            }
        };
        self.log.push((meta.header.position.entity_sequence, line));
    }
}

impl Apply<Stock> for Shop {
    fn apply(&mut self, event: &Stock, meta: &EventMeta) {
        let line = match event {
            Stock::Received { sku, qty } => {
                self.on_shelf += qty;
                format!("stock +{qty} {sku}")
            }
            Stock::Reserved { qty } => {
                self.on_shelf = self.on_shelf.saturating_sub(*qty);
                format!("stock -{qty}")
            }
        };
        self.log.push((meta.header.position.entity_sequence, line));
    }
}

fn shop(store: &Store, entity: &str) {
    let c = Coordinate::new(entity, "shop").unwrap();
    let sku = || "apple".to_owned();
    store
        .append_typed(
            &c,
            &Stock::Received {
                sku: sku(),
                qty: 10,
            },
        )
        .unwrap();
    store
        .append_typed(&c, &Cart::Added { sku: sku(), qty: 3 })
        .unwrap();
    store
        .append_typed(&c, &Chatted { text: "hi".into() })
        .unwrap();
    store.append_typed(&c, &Stock::Reserved { qty: 3 }).unwrap();
    store
        .append_typed(&c, &Cart::Removed { sku: sku() })
        .unwrap();
    store
        .append_typed(&c, &Cart::Added { sku: sku(), qty: 2 })
        .unwrap();
}

/// The same fold by hand: walk the entity's stream in commit order, decode each
/// event with its own family's typed input, and apply it.
fn shop_by_hand(store: &Store, entity: &str) -> Shop {
    let mut state = Shop::default();
    for entry in store.stream(entity) {
        if Cart::KIND_LIST.contains(&entry.kind) {
            let event = store.read_entry::<TypedInput<Cart>>(&entry).unwrap();
            state.apply(&event.payload, &EventMeta::of(&event));
        } else if Stock::KIND_LIST.contains(&entry.kind) {
            let event = store.read_entry::<TypedInput<Stock>>(&entry).unwrap();
            state.apply(&event.payload, &EventMeta::of(&event));
        }
    }
    state
}

#[test]
fn a_projection_over_two_families_folds_both_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    shop(&store, "shop:1");
    let derived: Shop = store.project_typed("shop:1").unwrap().unwrap();
    assert_eq!(derived, shop_by_hand(&store, "shop:1"));
    assert_eq!(
        derived.log,
        vec![
            (1, "stock +10 apple".to_owned()),
            (2, "cart +3 apple".to_owned()),
            (4, "stock -3".to_owned()),
            (5, "cart -1 apple".to_owned()),
            (6, "cart +2 apple".to_owned()),
        ]
    );
    assert_eq!((derived.in_cart, derived.on_shelf), (4, 7));

    let mut kinds = Shop::relevant_event_kinds().to_vec();
    kinds.sort();
    let mut union = [Cart::KIND_LIST, Stock::KIND_LIST].concat();
    union.sort();
    assert_eq!(kinds, union);
    assert!(std::ptr::eq(
        Shop::relevant_event_kinds(),
        Shop::relevant_event_kinds()
    ));

    // Incremental: one more event of each family.
    let c = Coordinate::new("shop:1", "shop").unwrap();
    store.append_typed(&c, &Stock::Reserved { qty: 2 }).unwrap();
    store
        .append_typed(
            &c,
            &Cart::Added {
                sku: "pear".into(),
                qty: 1,
            },
        )
        .unwrap();
    let derived: Shop = store.project_typed("shop:1").unwrap().unwrap();
    assert_eq!(derived, shop_by_hand(&store, "shop:1"));
    assert_eq!(
        (derived.in_cart, derived.on_shelf, derived.log.len()),
        (5, 5, 7)
    );
    store.close().unwrap();
}

#[test]
fn the_input_of_several_families_reports_what_it_cannot_decode() {
    type Input = <Shop as EventSourced>::Input;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let c = Coordinate::new("shop:2", "shop").unwrap();
    let chat = store
        .append_typed(&c, &Chatted { text: "hi".into() })
        .unwrap();
    let json = store
        .append(&c, Cart::ADDED, &serde_json::json!({ "sku": "fig" }))
        .unwrap();
    let stock = store.append_typed(&c, &Stock::Reserved { qty: 1 }).unwrap();

    let event = store.get_as::<Input>(stock.event_id).unwrap().unwrap();
    let mut state = Shop::default();
    state.apply_event(&event);
    assert_eq!(state.log, vec![(3, "stock -1".to_owned())]);

    match store.get_as::<Input>(chat.event_id) {
        Err(StoreError::Decode {
            source: DecodeError::Schema(SchemaError::UnknownKind { family, kind }),
            ..
        }) => assert_eq!((family, kind), ("Shop", Chatted::KIND)),
        other => panic!("expected an unknown kind, got {other:?}"),
    }
    match store.get_as::<Input>(json.event_id) {
        Err(StoreError::Decode {
            source: DecodeError::Codec { reader, .. },
            ..
        }) => assert_eq!(reader, "Cart"),
        other => panic!("expected a codec error, got {other:?}"),
    }
    store.close().unwrap();
}

fn received(store: &Store, entity: &str, quantities: &[u32]) {
    let c = Coordinate::new(entity, "shop").unwrap();
    for qty in quantities {
        let event = Stock::Received {
            sku: "fig".into(),
            qty: *qty,
        };
        store.append_typed(&c, &event).unwrap();
    }
}

fn cache_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn a_bumped_cache_version_never_reuses_a_cached_state() {
    let data = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(data.path()))
        .unwrap()
        .with_projection_cache(Box::new(NativeCache::new(cache.path()).unwrap()));
    received(&store, "shelf:1", &[3, 4, 5]);

    // Each block declares its own `Totals`; all three have the same Rust type
    // name (the cache key's `projection`) and the same fields, so only
    // `cache_version` tells their cache entries apart.
    let (first, first_name) = {
        /// Version 1 counts deliveries.
        #[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
        #[batpak(events = Stock, cache_version = 1)]
        struct Totals {
            n: u64,
        }
        impl Apply<Stock> for Totals {
            fn apply(&mut self, _: &Stock, _: &EventMeta) {
                self.n += 1;
            }
        }
        let state: Totals = store.project_typed("shelf:1").unwrap().unwrap();
        (state.n, std::any::type_name::<Totals>())
    };
    assert_eq!(first, 3);
    assert_eq!(cache_files(cache.path()), 1);

    let (second, second_name) = {
        /// Version 2 counts items instead: a state of version 1 would be wrong.
        #[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
        #[batpak(events = Stock, cache_version = 2)]
        struct Totals {
            n: u64,
        }
        impl Apply<Stock> for Totals {
            fn apply(&mut self, event: &Stock, _: &EventMeta) {
                if let Stock::Received { qty, .. } = event {
                    self.n += u64::from(*qty);
                }
            }
        }
        let state: Totals = store.project_typed("shelf:1").unwrap().unwrap();
        (state.n, std::any::type_name::<Totals>())
    };
    assert_eq!(
        first_name, second_name,
        "the cache keys differ in version only"
    );
    assert_eq!(second, 12, "version 2 folds afresh");
    assert_eq!(cache_files(cache.path()), 2);

    // The control: the same version with another fold is served version 1's
    // state, which is why a changed fold needs a bumped `cache_version`.
    let stale = {
        #[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
        #[batpak(events = Stock, cache_version = 1)]
        struct Totals {
            n: u64,
        }
        impl Apply<Stock> for Totals {
            fn apply(&mut self, _: &Stock, _: &EventMeta) {
                self.n += 100;
            }
        }
        let state: Totals = store.project_typed("shelf:1").unwrap().unwrap();
        state.n
    };
    assert_eq!(stale, 3);
    store.close().unwrap();

    // Another process, reading only: version 2's own entry, brought up to date.
    let reader =
        Store::open_read_only_with_native_cache(StoreConfig::new(data.path()), cache.path())
            .unwrap();
    #[derive(Debug, Default, Serialize, Deserialize, batpak::Projection)]
    #[batpak(events = Stock, cache_version = 2)]
    struct Totals {
        n: u64,
    }
    impl Apply<Stock> for Totals {
        fn apply(&mut self, event: &Stock, _: &EventMeta) {
            if let Stock::Received { qty, .. } = event {
                self.n += u64::from(*qty);
            }
        }
    }
    let again: Totals = reader
        .project("shelf:1", &Freshness::Consistent)
        .unwrap()
        .unwrap();
    assert_eq!(again.n, 12);
}

#[test]
fn cache_version_moves_the_cache_identity_and_nothing_else() {
    let plain = <shape_a::Tally as EventSourced>::schema_version();
    let one = <bumped_1::Tally as EventSourced>::schema_version();
    let two = <bumped_2::Tally as EventSourced>::schema_version();
    assert_ne!(plain, one);
    assert_ne!(one, two);
    assert_ne!(plain, two);
    assert_eq!(one.wrapping_sub(plain), 0x9E37_79B9);
    assert_eq!(two.wrapping_sub(plain), 0x9E37_79B9u32.wrapping_mul(2));
}

mod bumped_1 {
    #[derive(Default, serde::Serialize, serde::Deserialize, batpak::Projection)]
    #[batpak(events = super::Player, cache_version = 1)]
    pub struct Tally {
        pub n: u64,
    }
    impl batpak::Apply<super::Player> for Tally {
        fn apply(&mut self, _: &super::Player, _: &batpak::EventMeta) {
            self.n += 1;
        }
    }
}

mod bumped_2 {
    #[derive(Default, serde::Serialize, serde::Deserialize, batpak::Projection)]
    #[batpak(events = super::Player, cache_version = 2)]
    pub struct Tally {
        pub n: u64,
    }
    impl batpak::Apply<super::Player> for Tally {
        fn apply(&mut self, _: &super::Player, _: &batpak::EventMeta) {
            self.n += 1;
        }
    }
}

/// The family as first written.
mod before_rename {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
    #[batpak(category = 0xE)]
    pub enum Cart {
        #[batpak(id = 1)]
        Added { sku: String },
        #[batpak(id = 2)]
        Emptied,
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
    #[batpak(category = 0xF, id = 1)]
    pub struct Paid {
        pub cents: u64,
    }
}

/// The families after a Rust rename that kept their stable names.
mod after_rename {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
    #[batpak(category = 0xE, name = "Cart")]
    pub enum ShoppingCart {
        #[batpak(id = 1)]
        Added { sku: String },
        #[batpak(id = 2)]
        Emptied,
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
    #[batpak(category = 0xF, id = 1, name = "Paid")]
    pub struct PaymentTaken {
        pub cents: u64,
    }
}

/// The same rename without a stable name: the ledger refuses it.
mod renamed_without_name {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, batpak::Event)]
    #[batpak(category = 0xE)]
    pub enum ShoppingCart {
        #[batpak(id = 1)]
        Added { sku: String },
        #[batpak(id = 2)]
        Emptied,
    }
}

#[test]
fn a_stable_name_survives_a_rust_rename() {
    use after_rename::ShoppingCart;
    use before_rename::Cart as OldCart;
    assert_eq!(<OldCart as EventFamily>::NAME, "Cart");
    assert_eq!(<ShoppingCart as EventFamily>::NAME, "Cart");
    assert_eq!(
        <renamed_without_name::ShoppingCart as EventFamily>::NAME,
        "ShoppingCart"
    );

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let c = Coordinate::new("cart:1", "shop").unwrap();
    store
        .append_typed(&c, &OldCart::Added { sku: "fig".into() })
        .unwrap();
    store.append_typed(&c, &OldCart::Emptied).unwrap();
    store
        .append_typed(&c, &before_rename::Paid { cents: 250 })
        .unwrap();
    store.close().unwrap();

    let store = Store::open(StoreConfig::new(dir.path())).unwrap();
    let read: Vec<ShoppingCart> = store
        .read_typed::<ShoppingCart>("cart:1")
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().1)
        .collect();
    assert_eq!(
        read,
        vec![
            ShoppingCart::Added { sku: "fig".into() },
            ShoppingCart::Emptied
        ]
    );
    store
        .append_typed(&c, &ShoppingCart::Added { sku: "kiwi".into() })
        .unwrap();

    // An event struct's one kind carries the stable name too.
    use after_rename::PaymentTaken;
    assert_eq!(<PaymentTaken as EventFamily>::KINDS[0].variant, "Paid");
    let paid = store.read_typed::<PaymentTaken>("cart:1").unwrap();
    assert!(
        matches!(&paid[..], [Ok((_, PaymentTaken { cents: 250 }))]),
        "{paid:?}"
    );

    let refused = store
        .read_typed::<renamed_without_name::ShoppingCart>("cart:1")
        .unwrap();
    // The ledger's rename rule, whose fix is the stable name.
    assert!(
        matches!(
            &refused[0],
            Err(StoreError::SchemaDrift { rule: 24, path, .. }) if path == "ShoppingCart"
        ),
        "{refused:?}"
    );
    store.close().unwrap();
}
