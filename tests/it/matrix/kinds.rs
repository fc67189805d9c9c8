//! Rows that edit a family's kinds rather than a payload: ids, versions and the
//! upcast chain, removal and retirement, the category and the family's name
//! (rows 18 to 26 of the rules table in docs/schema-evolution.md). Each family is `Cart` (but one) in
//! category 0x7, with kind ids of the row's own.

use super::{Case, Want};
use serde::{Deserialize, Serialize};

pub mod r18_id_changed {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 291)]
            Added { sku: String },
            #[batpak(id = 292)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 293)]
            Added { sku: String },
            #[batpak(id = 292)]
            Cleared,
        }
    }

    edit! {
        edit: "a kind id changed (`Added` 291 to 293)",
        want: Want::Fail(&[18]),
        samples: [Added { sku: "pen".into() }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into() },
    }
}

pub mod r19_id_reused_after_removal {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 301)]
            Added { sku: String },
            #[batpak(id = 302)]
            Cancelled { reason: String },
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 301)]
            Added { sku: String },
            #[batpak(id = 302)]
            Refunded { cents: u64 },
        }
    }

    edit! {
        edit: "`Cancelled` removed, its id reused by `Refunded`",
        want: Want::Fail(&[19]),
        samples: [Added { sku: "pen".into() }, Cancelled { reason: "lost".into() }],
        expected: [],
        fresh: Refunded { cents: 150 },
    }
}

pub mod r19_id_reused_after_retirement {
    use super::*;

    /// The release that still wrote `Cancelled`: the log comes from it.
    pub mod older {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 311)]
            Added { sku: String },
            #[batpak(id = 312)]
            Cancelled { reason: String },
        }
    }

    /// The last release: `Cancelled` retired (read, never written).
    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 311)]
            Added { sku: String },
            #[batpak(id = 312, retired)]
            Cancelled { reason: String },
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 311)]
            Added { sku: String },
            #[batpak(id = 312)]
            Refunded { cents: u64 },
        }
    }

    pub struct Edit;

    impl Case for Edit {
        const EDIT: &'static str = "`Cancelled` retired, then its id reused by `Refunded`";
        const WANT: Want = Want::Fail(&[19]);
        type Writer = older::Cart;
        type Old = before::Cart;
        type New = after::Cart;

        fn samples() -> Vec<older::Cart> {
            vec![
                older::Cart::Added { sku: "pen".into() },
                older::Cart::Cancelled {
                    reason: "lost".into(),
                },
            ]
        }

        fn expected() -> Vec<after::Cart> {
            Vec::new()
        }

        fn fresh() -> after::Cart {
            after::Cart::Refunded { cents: 150 }
        }
    }
}

pub mod r21_bump_with_upcast {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 321)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 322)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct AddedV1 {
            pub sku: String,
            pub qty: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 321, version = 2, upcast_from = AddedV1)]
            Added {
                sku: String,
                qty: u32,
                note: Option<String>,
            },
            #[batpak(id = 322)]
            Cleared,
        }

        impl From<AddedV1> for Cart {
            fn from(v: AddedV1) -> Self {
                Cart::Added {
                    sku: v.sku,
                    qty: v.qty,
                    note: None,
                }
            }
        }
    }

    edit! {
        edit: "field added with `version = 2, upcast_from = AddedV1`",
        want: Want::Pass(&[]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [Added { sku: "pen".into(), qty: 2, note: None }, Cleared],
        fresh: Added { sku: "ink".into(), qty: 1, note: Some("gift".into()) },
    }
}

pub mod r21_bump_nested_renamed_v1 {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct LineItem {
            pub qty: u32,
            pub price: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 331)]
            Added { sku: String, line: LineItem },
            #[batpak(id = 332)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        /// The old `LineItem`, renamed because today's has grown.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct LineItemV1 {
            pub qty: u32,
            pub price: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct LineItem {
            pub qty: u32,
            pub price: u32,
            pub discount: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct AddedV1 {
            pub sku: String,
            pub line: LineItemV1,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 331, version = 2, upcast_from = AddedV1)]
            Added { sku: String, line: LineItem },
            #[batpak(id = 332)]
            Cleared,
        }

        impl From<AddedV1> for Cart {
            fn from(v: AddedV1) -> Self {
                Cart::Added {
                    sku: v.sku,
                    line: LineItem {
                        qty: v.line.qty,
                        price: v.line.price,
                        discount: 0,
                    },
                }
            }
        }
    }

    edit! {
        edit: "nested field added with a version bump; the old nested type renamed `LineItemV1`",
        want: Want::Pass(&[]),
        samples: [Added { sku: "pen".into(), line: LineItem { qty: 2, price: 150 } }, Cleared],
        expected: [
            Added { sku: "pen".into(), line: LineItem { qty: 2, price: 150, discount: 0 } },
            Cleared,
        ],
        fresh: Added { sku: "ink".into(), line: LineItem { qty: 1, price: 90, discount: 10 } },
    }
}

pub mod r21_type_changed_without_bump {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 341)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 342)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 341)]
            Added { sku: String, qty: String },
            #[batpak(id = 342)]
            Cleared,
        }
    }

    edit! {
        edit: "`qty: u32` becomes `qty: String` without a version bump",
        want: Want::Fail(&[21, 14]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), qty: "one".into() },
    }
}

pub mod r21_version_skipped {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 351)]
            Added { sku: String },
            #[batpak(id = 352)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        /// Version 1's shape, but declared as version 2: no chain reaches 1.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct AddedV2 {
            pub sku: String,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 351, version = 3, upcast_from = AddedV2)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 352)]
            Cleared,
        }

        impl From<AddedV2> for Cart {
            fn from(v: AddedV2) -> Self {
                Cart::Added { sku: v.sku, qty: 1 }
            }
        }
    }

    edit! {
        edit: "version 1 to 3; the chain reaches only version 2",
        want: Want::Fail(&[21]),
        samples: [Added { sku: "pen".into() }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), qty: 1 },
    }
}

pub mod r21_version_lowered {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct AddedV1 {
            pub sku: String,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 361, version = 2, upcast_from = AddedV1)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 362)]
            Cleared,
        }

        impl From<AddedV1> for Cart {
            fn from(v: AddedV1) -> Self {
                Cart::Added { sku: v.sku, qty: 1 }
            }
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 361)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 362)]
            Cleared,
        }
    }

    edit! {
        edit: "version 2 lowered to 1 (today's shape, the chain dropped)",
        want: Want::Fail(&[21]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), qty: 1 },
    }
}

pub mod r22_variant_removed {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 371)]
            Added { sku: String },
            #[batpak(id = 372)]
            Cancelled { reason: String },
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 371)]
            Added { sku: String },
        }
    }

    edit! {
        edit: "variant `Cancelled` removed without retiring it",
        want: Want::Fail(&[22]),
        samples: [Added { sku: "pen".into() }, Cancelled { reason: "lost".into() }],
        expected: [],
        fresh: Added { sku: "ink".into() },
    }
}

pub mod r22_variant_retired {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 381)]
            Added { sku: String },
            #[batpak(id = 382)]
            Cancelled { reason: String },
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 381)]
            Added { sku: String },
            #[batpak(id = 382, retired)]
            Cancelled { reason: String },
        }
    }

    edit! {
        edit: "variant `Cancelled` retired",
        want: Want::Pass(&[]),
        samples: [Added { sku: "pen".into() }, Cancelled { reason: "lost".into() }],
        expected: [Added { sku: "pen".into() }, Cancelled { reason: "lost".into() }],
        fresh: Added { sku: "ink".into() },
    }
}

pub mod r23_category_changed {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 391)]
            Added { sku: String },
            #[batpak(id = 392)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x8)]
        pub enum Cart {
            #[batpak(id = 391)]
            Added { sku: String },
            #[batpak(id = 392)]
            Cleared,
        }
    }

    edit! {
        edit: "category 0x7 changed to 0x8",
        want: Want::Fail(&[23]),
        samples: [Added { sku: "pen".into() }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into() },
    }
}

/// The family's Rust type renamed from `Cart` to `Basket` without keeping
/// its stable name (its other half, `r24_family_renamed_stable_name`, keeps
/// it).
pub mod r24_family_renamed {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 401)]
            Added { sku: String },
            #[batpak(id = 402)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Basket {
            #[batpak(id = 401)]
            Added { sku: String },
            #[batpak(id = 402)]
            Cleared,
        }
    }

    pub struct Edit;

    impl Case for Edit {
        const EDIT: &'static str = "family's Rust type renamed `Cart` to `Basket`, no stable name";
        const WANT: Want = Want::Fail(&[24]);
        type Writer = before::Cart;
        type Old = before::Cart;
        type New = after::Basket;

        fn samples() -> Vec<before::Cart> {
            vec![
                before::Cart::Added { sku: "pen".into() },
                before::Cart::Cleared,
            ]
        }

        fn expected() -> Vec<after::Basket> {
            Vec::new()
        }

        fn fresh() -> after::Basket {
            after::Basket::Added { sku: "ink".into() }
        }
    }
}

/// The same rename with `#[batpak(name = "Cart")]`: the family keeps its
/// stable name, so nothing changes for the log.
pub mod r24_family_renamed_stable_name {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 421)]
            Added { sku: String },
            #[batpak(id = 422)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7, name = "Cart")]
        pub enum Basket {
            #[batpak(id = 421)]
            Added { sku: String },
            #[batpak(id = 422)]
            Cleared,
        }
    }

    pub struct Edit;

    impl Case for Edit {
        const EDIT: &'static str =
            "family's Rust type renamed `Cart` to `Basket`, `#[batpak(name = \"Cart\")]` keeps the stable name";
        const WANT: Want = Want::Pass(&[]);
        type Writer = before::Cart;
        type Old = before::Cart;
        type New = after::Basket;

        fn samples() -> Vec<before::Cart> {
            vec![
                before::Cart::Added { sku: "pen".into() },
                before::Cart::Cleared,
            ]
        }

        fn expected() -> Vec<after::Basket> {
            vec![
                after::Basket::Added { sku: "pen".into() },
                after::Basket::Cleared,
            ]
        }

        fn fresh() -> after::Basket {
            after::Basket::Added { sku: "ink".into() }
        }
    }
}

pub mod r26_ids_exchanged {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 411)]
            Added { qty: u32 },
            #[batpak(id = 412)]
            Removed { qty: u32 },
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x7)]
        pub enum Cart {
            #[batpak(id = 412)]
            Added { qty: u32 },
            #[batpak(id = 411)]
            Removed { qty: u32 },
        }
    }

    edit! {
        edit: "two variants of one shape exchange ids",
        want: Want::Fail(&[26]),
        samples: [Added { qty: 2 }, Removed { qty: 1 }],
        expected: [],
        fresh: Added { qty: 3 },
    }
}
