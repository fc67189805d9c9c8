//! Rows where the name the log records is not the Rust name: the ledger keeps
//! the variant's serde name (`rename_all`, `rename`), and a struct family's
//! shape has no variant name at all. The store and the check must still tell a
//! rename from a moved or reused id the same way. Families are in category
//! 0x9, with kind ids of the row's own.

use super::{Case, Want};
use serde::{Deserialize, Serialize};

pub mod r26_ids_exchanged_rename_all {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Cart {
            #[batpak(id = 421)]
            ItemAdded { qty: u32 },
            #[batpak(id = 422)]
            ItemRemoved { qty: u32 },
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Cart {
            #[batpak(id = 422)]
            ItemAdded { qty: u32 },
            #[batpak(id = 421)]
            ItemRemoved { qty: u32 },
        }
    }

    edit! {
        edit: "two variants exchange ids; `rename_all = \"snake_case\"` on the family",
        want: Want::Fail(&[26]),
        samples: [ItemAdded { qty: 2 }, ItemRemoved { qty: 1 }],
        expected: [],
        fresh: ItemAdded { qty: 3 },
    }
}

pub mod r18_id_changed_rename_all {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Cart {
            #[batpak(id = 431)]
            ItemAdded { sku: String },
            #[batpak(id = 432)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Cart {
            #[batpak(id = 433)]
            ItemAdded { sku: String },
            #[batpak(id = 432)]
            Cleared,
        }
    }

    edit! {
        edit: "a kind id changed; `rename_all = \"snake_case\"` on the family",
        want: Want::Fail(&[18]),
        samples: [ItemAdded { sku: "pen".into() }, Cleared],
        expected: [],
        fresh: ItemAdded { sku: "ink".into() },
    }
}

pub mod r24_family_renamed_rename_all {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Cart {
            #[batpak(id = 441)]
            ItemAdded { sku: String },
            #[batpak(id = 442)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Basket {
            #[batpak(id = 441)]
            ItemAdded { sku: String },
            #[batpak(id = 442)]
            Cleared,
        }
    }

    pub struct Edit;

    impl Case for Edit {
        const EDIT: &'static str =
            "family renamed `Cart` to `Basket`; `rename_all = \"snake_case\"` on the family";
        const WANT: Want = Want::Fail(&[24]);
        type Writer = before::Cart;
        type Old = before::Cart;
        type New = after::Basket;

        fn samples() -> Vec<before::Cart> {
            vec![
                before::Cart::ItemAdded { sku: "pen".into() },
                before::Cart::Cleared,
            ]
        }

        fn expected() -> Vec<after::Basket> {
            Vec::new()
        }

        fn fresh() -> after::Basket {
            after::Basket::ItemAdded { sku: "ink".into() }
        }
    }
}

pub mod r13_variant_renamed_rename_all {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Cart {
            #[batpak(id = 451)]
            ItemAdded { sku: String },
            #[batpak(id = 452)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[serde(rename_all = "snake_case")]
        #[batpak(category = 0x9)]
        pub enum Cart {
            #[batpak(id = 451)]
            ItemPut { sku: String },
            #[batpak(id = 452)]
            Cleared,
        }
    }

    edit! {
        edit: "event variant renamed, same id; `rename_all = \"snake_case\"` on the family",
        want: Want::Pass(&[13]),
        samples: [ItemAdded { sku: "pen".into() }, Cleared],
        expected: [ItemPut { sku: "pen".into() }, Cleared],
        fresh: ItemPut { sku: "ink".into() },
    }
}

/// The rows on a struct family: one kind, whose shape names no variant.
macro_rules! struct_family {
    ($id:tt, $qty:ty) => {
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x9, id = $id)]
        pub struct Cart {
            pub sku: String,
            pub qty: $qty,
        }
    };
}

/// A [`Case`] for a struct family `Cart` in `before` and `after`.
macro_rules! struct_case {
    ($edit:expr, $want:expr, [$($qty:expr),*] => [$($new:expr),*], $fresh:expr) => {
        pub struct Edit;

        impl Case for Edit {
            const EDIT: &'static str = $edit;
            const WANT: Want = $want;
            type Writer = before::Cart;
            type Old = before::Cart;
            type New = after::Cart;

            fn samples() -> Vec<before::Cart> {
                vec![$(before::Cart { sku: "pen".into(), qty: $qty }),*]
            }

            fn expected() -> Vec<after::Cart> {
                vec![$(after::Cart { sku: "pen".into(), qty: $new }),*]
            }

            fn fresh() -> after::Cart {
                after::Cart { sku: "ink".into(), qty: $fresh }
            }
        }
    };
}

pub mod r18_struct_family_id_changed {
    use super::*;

    pub mod before {
        use super::*;
        struct_family!(461, u32);
    }

    pub mod after {
        use super::*;
        struct_family!(463, u32);
    }

    struct_case!("struct family: its id changed", Want::Fail(&[18]), [2, 3] => [], 1);
}

pub mod r5_struct_family_widened {
    use super::*;

    pub mod before {
        use super::*;
        struct_family!(471, u16);
    }

    pub mod after {
        use super::*;
        struct_family!(471, u32);
    }

    struct_case!("struct family: `u16`→`u32`", Want::Pass(&[5]), [2, 3] => [2, 3], 70_000);
}

/// A family `Cart` with one edited variant (`$old` before, `$new` after) and
/// an untouched `Cleared`.
macro_rules! one_variant {
    ($id:tt, $cleared:tt, { $($old:tt)* } => { $($new:tt)* }) => {
        pub mod before {
            use super::*;
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
            #[batpak(category = 0x9)]
            pub enum Cart {
                #[batpak(id = $id)]
                $($old)*,
                #[batpak(id = $cleared)]
                Cleared,
            }
        }

        pub mod after {
            use super::*;
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
            #[batpak(category = 0x9)]
            pub enum Cart {
                #[batpak(id = $id)]
                $($new)*,
                #[batpak(id = $cleared)]
                Cleared,
            }
        }
    };
}

pub mod r13_rust_rename_wire_name_kept {
    use super::*;
    one_variant!(481, 482, { Added { qty: u32 } } => { #[serde(rename = "Added")] Put { qty: u32 } });

    edit! {
        edit: "Rust variant renamed `Added` to `Put`, `#[serde(rename = \"Added\")]` keeps the wire name",
        want: Want::Pass(&[]),
        samples: [Added { qty: 2 }, Cleared],
        expected: [Put { qty: 2 }, Cleared],
        fresh: Put { qty: 1 },
    }
}

pub mod r5_widen_rust_rename_wire_name_kept {
    use super::*;
    one_variant!(491, 492, { Added { qty: u16 } } => { #[serde(rename = "Added")] Put { qty: u32 } });

    edit! {
        edit: "`u16`→`u32`, and the Rust variant renamed with `#[serde(rename)]` keeping the wire name",
        want: Want::Pass(&[5]),
        samples: [Added { qty: 2 }, Cleared],
        expected: [Put { qty: 2 }, Cleared],
        fresh: Put { qty: 70_000 },
    }
}

pub mod r19_widen_wire_rename_only {
    use super::*;
    one_variant!(501, 502, { Added { qty: u16 } } => { #[serde(rename = "Put")] Added { qty: u32 } });

    edit! {
        edit: "`u16`→`u32`, and `#[serde(rename = \"Put\")]` renames the variant on the wire only",
        want: Want::Fail(&[19]),
        samples: [Added { qty: 2 }, Cleared],
        expected: [],
        fresh: Added { qty: 70_000 },
    }
}
