//! End to end: a family at v1 is snapshotted ("blessed"), then edited the ways
//! docs/schema-evolution.md forbids; `batpak::schema::check` fails each with the right
//! rule, and the fix (a version bump with an upcaster) passes.

use batpak::schema::{check, Catalog, FamilySnapshot, Report, Verdict};
use serde::{Deserialize, Serialize};

mod v1 {
    use super::*;
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x9)]
    pub enum Shop {
        #[batpak(id = 1)]
        Ordered { item: String, qty: u32, price: u32 },
        #[batpak(id = 2)]
        Cancelled { reason: String },
    }
}

mod field_added {
    use super::*;
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x9)]
    pub enum Shop {
        #[batpak(id = 1)]
        Ordered {
            item: String,
            qty: u32,
            price: u32,
            coupon: Option<String>,
        },
        #[batpak(id = 2)]
        Cancelled { reason: String },
    }
}

mod reordered {
    use super::*;
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x9)]
    pub enum Shop {
        #[batpak(id = 1)]
        Ordered { item: String, price: u32, qty: u32 },
        #[batpak(id = 2)]
        Cancelled { reason: String },
    }
}

mod variant_removed {
    use super::*;
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x9)]
    pub enum Shop {
        #[batpak(id = 1)]
        Ordered { item: String, qty: u32, price: u32 },
    }
}

mod id_reused {
    use super::*;
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x9)]
    pub enum Shop {
        #[batpak(id = 1)]
        Ordered { item: String, qty: u32, price: u32 },
        #[batpak(id = 2)]
        Refunded { amount: u64 },
    }
}

mod fixed {
    use super::*;
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
    pub struct OrderedV1 {
        pub item: String,
        pub qty: u32,
        pub price: u32,
    }

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
    #[batpak(category = 0x9)]
    pub enum Shop {
        #[batpak(id = 1, version = 2, upcast_from = OrderedV1)]
        Ordered {
            item: String,
            qty: u32,
            price: u32,
            coupon: Option<String>,
        },
        #[batpak(id = 2, retired)]
        Cancelled { reason: String },
        #[batpak(id = 3)]
        Refunded { amount: u64 },
    }

    impl From<OrderedV1> for Shop {
        fn from(v: OrderedV1) -> Self {
            Shop::Ordered {
                item: v.item,
                qty: v.qty,
                price: v.price,
                coupon: None,
            }
        }
    }
}

/// The committed snapshot, as `bless` writes and `check` reads it.
fn blessed() -> Catalog {
    let today = Catalog::new().with::<v1::Shop>();
    today
        .families()
        .map(|f| FamilySnapshot::from_json(&f.to_json()).expect("snapshot JSON round-trips"))
        .fold(Catalog::new(), Catalog::with_snapshot)
}

fn assert_breaks(report: &Report, rule: u8) {
    assert!(!report.passes(), "expected a failing check");
    assert!(
        report.failures().any(|f| f.rule == rule),
        "expected rule {rule}, got:\n{}",
        report
            .findings
            .iter()
            .map(|f| format!("{f}\n"))
            .collect::<String>()
    );
}

#[test]
fn edits_that_break_old_data_fail_with_their_rule() {
    let old = blessed();
    assert!(
        check(&old, &Catalog::new().with::<v1::Shop>()).passes(),
        "unchanged code passes"
    );

    let report = check(&old, &Catalog::new().with::<field_added::Shop>());
    assert_breaks(&report, 1);
    let line = report.failures().next().unwrap().to_string();
    assert!(
        line.contains("Shop::Ordered v1 Ordered.coupon rule 1"),
        "{line}"
    );
    assert!(
        line.contains("version = 2, upcast_from = OrderedV1"),
        "{line}"
    );

    let report = check(&old, &Catalog::new().with::<reordered::Shop>());
    assert_breaks(&report, 3);
    assert!(
        report.has(3, Verdict::Silent),
        "two u32 fields swapped decode silently"
    );

    assert_breaks(
        &check(&old, &Catalog::new().with::<variant_removed::Shop>()),
        22,
    );
    assert_breaks(&check(&old, &Catalog::new().with::<id_reused::Shop>()), 19);
}

#[test]
fn a_version_bump_with_an_upcaster_passes() {
    let old = blessed();
    let report = check(&old, &Catalog::new().with::<fixed::Shop>());
    assert!(
        report.passes(),
        "{}",
        report
            .findings
            .iter()
            .map(|f| format!("{f}\n"))
            .collect::<String>()
    );
    // Old bytes really decode with the fixed type.
    let bytes = batpak::schema::encode(&("pen".to_string(), 2u32, 150u32)).unwrap();
    let catalog = Catalog::new().with::<fixed::Shop>();
    let kind = batpak::event::EventKind::custom(0x9, 1);
    assert!(catalog
        .decode("Shop", kind, 1, &bytes)
        .expect("decoder")
        .is_ok());
}
