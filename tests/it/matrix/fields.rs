//! Rows that edit the fields of an event (rows 1 to 10 of the rules table in docs/schema-evolution.md). Each
//! family is `Cart` in category 0x5; each row has kind ids of its own (the
//! row's number times ten, plus one or two), so no two rows share a kind even
//! though every row writes its own directory.

use super::Want;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

pub mod r1_add_field {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 11)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 12)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 11)]
            Added {
                sku: String,
                qty: u32,
                note: Option<String>,
            },
            #[batpak(id = 12)]
            Cleared,
        }
    }

    edit! {
        edit: "add a field (`note: Option<String>`, last)",
        want: Want::Fail(&[1]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), qty: 1, note: None },
    }
}

pub mod r2_remove_middle_field {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 21)]
            Added { sku: String, qty: u32, price: u32 },
            #[batpak(id = 22)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 21)]
            Added { sku: String, price: u32 },
            #[batpak(id = 22)]
            Cleared,
        }
    }

    edit! {
        edit: "remove a field in the middle (`qty`)",
        want: Want::Fail(&[2]),
        samples: [Added { sku: "pen".into(), qty: 2, price: 150 }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), price: 90 },
    }
}

pub mod r2_remove_last_field {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 31)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 32)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 31)]
            Added { sku: String },
            #[batpak(id = 32)]
            Cleared,
        }
    }

    edit! {
        edit: "remove the last field (`qty`): postcard ignores the bytes left",
        want: Want::Fail(&[2]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into() },
    }
}

pub mod r3_swap_same_type {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 41)]
            Added { qty: u32, price: u32 },
            #[batpak(id = 42)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 41)]
            Added { price: u32, qty: u32 },
            #[batpak(id = 42)]
            Cleared,
        }
    }

    edit! {
        edit: "swap two `u32` fields (`qty`, `price`)",
        want: Want::Fail(&[3]),
        samples: [Added { qty: 2, price: 150 }, Cleared],
        expected: [],
        fresh: Added { price: 90, qty: 1 },
    }
}

pub mod r3_swap_other_types {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 51)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 52)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 51)]
            Added { qty: u32, sku: String },
            #[batpak(id = 52)]
            Cleared,
        }
    }

    edit! {
        edit: "swap a `String` and a `u32` field",
        want: Want::Fail(&[3]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [],
        fresh: Added { qty: 1, sku: "ink".into() },
    }
}

pub mod r4_rename_field {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 61)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 62)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 61)]
            Added { sku: String, count: u32 },
            #[batpak(id = 62)]
            Cleared,
        }
    }

    edit! {
        edit: "rename a field (`qty` to `count`)",
        want: Want::Pass(&[4]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared, Added { sku: "ink".into(), qty: 7 }],
        expected: [Added { sku: "pen".into(), count: 2 }, Cleared, Added { sku: "ink".into(), count: 7 }],
        fresh: Added { sku: "cap".into(), count: 3 },
    }
}

pub mod r5_widen_nested {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Line {
            pub qty: u16,
            pub price: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 71)]
            Added { sku: String, line: Line },
            #[batpak(id = 72)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Line {
            pub qty: u32,
            pub price: u64,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 71)]
            Added { sku: String, line: Line },
            #[batpak(id = 72)]
            Cleared,
        }
    }

    edit! {
        edit: "widen `u16`→`u32` and `u32`→`u64` inside a nested struct",
        want: Want::Pass(&[5]),
        samples: [
            Added { sku: "pen".into(), line: Line { qty: u16::MAX, price: u32::MAX } },
            Cleared,
            Added { sku: "ink".into(), line: Line { qty: 3, price: 150 } },
        ],
        expected: [
            Added { sku: "pen".into(), line: Line { qty: 65_535, price: 4_294_967_295 } },
            Cleared,
            Added { sku: "ink".into(), line: Line { qty: 3, price: 150 } },
        ],
        fresh: Added { sku: "cap".into(), line: Line { qty: 70_000, price: 5_000_000_000 } },
    }
}

/// A row that changes the type of `Added::qty` and nothing else; every such
/// change is a rule 6 break.
macro_rules! retyped_qty {
    ($row:ident, $id:tt, $cleared:tt, $old:ty => $new:ty, $sample:expr, $fresh:expr, $edit:expr) => {
        pub mod $row {
            use super::*;

            pub mod before {
                use super::*;
                #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
                #[batpak(category = 0x5)]
                pub enum Cart {
                    #[batpak(id = $id)]
                    Added { qty: $old },
                    #[batpak(id = $cleared)]
                    Cleared,
                }
            }

            pub mod after {
                use super::*;
                #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
                #[batpak(category = 0x5)]
                pub enum Cart {
                    #[batpak(id = $id)]
                    Added { qty: $new },
                    #[batpak(id = $cleared)]
                    Cleared,
                }
            }

            edit! {
                edit: $edit,
                want: Want::Fail(&[6]),
                samples: [Added { qty: $sample }, Cleared, Added { qty: $sample }],
                expected: [],
                fresh: Added { qty: $fresh },
            }
        }
    };
}

retyped_qty!(r6_u8_to_u16, 81, 82, u8 => u16, 200, 300, "`u8`→`u16` (a raw byte becomes a varint)");
retyped_qty!(r6_narrow_u64_to_u32, 91, 92, u64 => u32, 5, 6, "narrow `u64`→`u32`");
retyped_qty!(r6_sign_u32_to_i32, 101, 102, u32 => i32, 5, -6, "sign change `u32`→`i32`");
retyped_qty!(r6_f32_to_f64, 111, 112, f32 => f64, 1.5, 2.5, "float width `f32`→`f64`");
retyped_qty!(r6_i32_to_f64, 121, 122, i32 => f64, -5, 2.5, "int to float `i32`→`f64`");

pub mod r7_string_to_bytes {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 131)]
            Noted { text: String },
            #[batpak(id = 132)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 131)]
            Noted { text: Vec<u8> },
            #[batpak(id = 132)]
            Cleared,
        }
    }

    edit! {
        edit: "`String`→`Vec<u8>` (the safe direction)",
        want: Want::Pass(&[7]),
        samples: [Noted { text: "gift wrap".into() }, Cleared, Noted { text: "naïve ☃".into() }],
        expected: [
            Noted { text: b"gift wrap".to_vec() },
            Cleared,
            Noted { text: "naïve ☃".as_bytes().to_vec() },
        ],
        fresh: Noted { text: vec![0xFF, 0x00, 0x7F] },
    }
}

pub mod r8_vec_to_vecdeque {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 141)]
            Added { skus: Vec<String> },
            #[batpak(id = 142)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 141)]
            Added { skus: VecDeque<String> },
            #[batpak(id = 142)]
            Cleared,
        }
    }

    edit! {
        edit: "`Vec<String>`→`VecDeque<String>`",
        want: Want::Pass(&[]),
        samples: [Added { skus: vec!["pen".into(), "ink".into()] }, Cleared],
        expected: [Added { skus: VecDeque::from(["pen".to_owned(), "ink".to_owned()]) }, Cleared],
        fresh: Added { skus: VecDeque::from(["cap".to_owned()]) },
    }
}

pub mod r8_box {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Line {
            pub sku: String,
            pub qty: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 151)]
            Added { line: Line },
            #[batpak(id = 152)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Line {
            pub sku: String,
            pub qty: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 151)]
            Added { line: Box<Line> },
            #[batpak(id = 152)]
            Cleared,
        }
    }

    edit! {
        edit: "`Line`→`Box<Line>`",
        want: Want::Pass(&[]),
        samples: [Added { line: Line { sku: "pen".into(), qty: 2 } }, Cleared],
        expected: [Added { line: Box::new(Line { sku: "pen".into(), qty: 2 }) }, Cleared],
        fresh: Added { line: Box::new(Line { sku: "ink".into(), qty: 1 }) },
    }
}

pub mod r8_newtype_wrap {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 161)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 162)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Qty(pub u32);

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 161)]
            Added { sku: String, qty: Qty },
            #[batpak(id = 162)]
            Cleared,
        }
    }

    edit! {
        edit: "wrap `u32` in a newtype `Qty(u32)`",
        want: Want::Pass(&[8]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [Added { sku: "pen".into(), qty: Qty(2) }, Cleared],
        fresh: Added { sku: "ink".into(), qty: Qty(1) },
    }
}

pub mod r9_array_to_vec {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 171)]
            Tagged { code: [u8; 4] },
            #[batpak(id = 172)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 171)]
            Tagged { code: Vec<u8> },
            #[batpak(id = 172)]
            Cleared,
        }
    }

    edit! {
        edit: "`[u8; 4]`→`Vec<u8>`",
        want: Want::Fail(&[9]),
        samples: [Tagged { code: [4, 1, 2, 3] }, Cleared],
        expected: [],
        fresh: Tagged { code: vec![1, 2, 3, 4] },
    }
}

pub mod r9_vec_to_array {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 181)]
            Tagged { code: Vec<u8> },
            #[batpak(id = 182)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 181)]
            Tagged { code: [u8; 4] },
            #[batpak(id = 182)]
            Cleared,
        }
    }

    edit! {
        edit: "`Vec<u8>`→`[u8; 4]`",
        want: Want::Fail(&[9]),
        samples: [Tagged { code: vec![1, 2, 3, 4] }, Cleared],
        expected: [],
        fresh: Tagged { code: [1, 2, 3, 4] },
    }
}

pub mod r10_option_wrap {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 191)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 192)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 191)]
            Added { sku: String, qty: Option<u32> },
            #[batpak(id = 192)]
            Cleared,
        }
    }

    edit! {
        edit: "`u32`→`Option<u32>`",
        want: Want::Fail(&[10]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), qty: Some(1) },
    }
}
