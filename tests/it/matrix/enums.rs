//! Rows that edit enums and nested types: an enum inside a payload, an event
//! variant's name, a nested struct, and the empty shapes (rows 11 to 14 and 27
//! of the rules table in docs/schema-evolution.md). Each family is `Cart` in category 0x6, with kind ids of
//! the row's own.

use super::Want;
use serde::{Deserialize, Serialize};

/// The families of a row that edits only the payload enum `Size`, declared
/// by its two variant lists.
macro_rules! size_edit {
    ($id:tt, $cleared:tt, [$($old:ident),*] => [$($new:ident),*]) => {
        pub mod before {
            use super::*;
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
            pub enum Size {
                $($old),*
            }

            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
            #[batpak(category = 0x6)]
            pub enum Cart {
                #[batpak(id = $id)]
                Added { sku: String, size: Size },
                #[batpak(id = $cleared)]
                Cleared,
            }
        }

        pub mod after {
            use super::*;
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
            pub enum Size {
                $($new),*
            }

            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
            #[batpak(category = 0x6)]
            pub enum Cart {
                #[batpak(id = $id)]
                Added { sku: String, size: Size },
                #[batpak(id = $cleared)]
                Cleared,
            }
        }
    };
}

pub mod r11_payload_variant_appended {
    use super::*;
    size_edit!(201, 202, [Small, Medium] => [Small, Medium, Large]);

    edit! {
        edit: "payload enum: variant added at the end",
        want: Want::Pass(&[11]),
        samples: [
            Added { sku: "pen".into(), size: Size::Small },
            Added { sku: "ink".into(), size: Size::Medium },
            Cleared,
        ],
        expected: [
            Added { sku: "pen".into(), size: Size::Small },
            Added { sku: "ink".into(), size: Size::Medium },
            Cleared,
        ],
        fresh: Added { sku: "cap".into(), size: Size::Large },
    }
}

pub mod r12_payload_variant_inserted {
    use super::*;
    size_edit!(211, 212, [Small, Medium] => [Small, Large, Medium]);

    edit! {
        edit: "payload enum: variant inserted in the middle",
        want: Want::Fail(&[12]),
        samples: [
            Added { sku: "pen".into(), size: Size::Small },
            Added { sku: "ink".into(), size: Size::Medium },
            Cleared,
        ],
        expected: [],
        fresh: Added { sku: "cap".into(), size: Size::Large },
    }
}

pub mod r12_payload_variants_swapped {
    use super::*;
    size_edit!(221, 222, [Small, Medium] => [Medium, Small]);

    edit! {
        edit: "payload enum: two variants swapped",
        want: Want::Fail(&[12]),
        samples: [
            Added { sku: "pen".into(), size: Size::Small },
            Added { sku: "ink".into(), size: Size::Medium },
            Cleared,
        ],
        expected: [],
        fresh: Added { sku: "cap".into(), size: Size::Small },
    }
}

pub mod r13_payload_variant_renamed {
    use super::*;
    size_edit!(231, 232, [Small, Medium] => [Small, Mid]);

    edit! {
        edit: "payload enum: variant renamed (`Medium` to `Mid`)",
        want: Want::Pass(&[13]),
        samples: [
            Added { sku: "pen".into(), size: Size::Small },
            Added { sku: "ink".into(), size: Size::Medium },
            Cleared,
        ],
        expected: [
            Added { sku: "pen".into(), size: Size::Small },
            Added { sku: "ink".into(), size: Size::Mid },
            Cleared,
        ],
        fresh: Added { sku: "cap".into(), size: Size::Mid },
    }
}

pub mod r13_event_variant_renamed {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 241)]
            Added { sku: String, qty: u32 },
            #[batpak(id = 242)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 241)]
            Put { sku: String, qty: u32 },
            #[batpak(id = 242)]
            Cleared,
        }
    }

    edit! {
        edit: "event variant renamed (`Added` to `Put`), same id",
        want: Want::Pass(&[13]),
        samples: [Added { sku: "pen".into(), qty: 2 }, Cleared],
        expected: [Put { sku: "pen".into(), qty: 2 }, Cleared],
        fresh: Put { sku: "ink".into(), qty: 1 },
    }
}

pub mod r14_nested_field_added {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Line {
            pub qty: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 251)]
            Added { sku: String, line: Line },
            #[batpak(id = 252)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Line {
            pub qty: u32,
            pub price: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 251)]
            Added { sku: String, line: Line },
            #[batpak(id = 252)]
            Cleared,
        }
    }

    edit! {
        edit: "nested struct: field added",
        want: Want::Fail(&[14, 1]),
        samples: [Added { sku: "pen".into(), line: Line { qty: 2 } }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), line: Line { qty: 1, price: 90 } },
    }
}

pub mod r14_nested_type_renamed {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Line {
            pub qty: u32,
            pub price: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 261)]
            Added { sku: String, line: Line },
            #[batpak(id = 262)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct Item {
            pub qty: u32,
            pub price: u32,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 261)]
            Added { sku: String, line: Item },
            #[batpak(id = 262)]
            Cleared,
        }
    }

    edit! {
        edit: "nested struct renamed only (`Line` to `Item`)",
        want: Want::Pass(&[]),
        samples: [Added { sku: "pen".into(), line: Line { qty: 2, price: 150 } }, Cleared],
        expected: [Added { sku: "pen".into(), line: Item { qty: 2, price: 150 } }, Cleared],
        fresh: Added { sku: "ink".into(), line: Item { qty: 1, price: 90 } },
    }
}

pub mod r27_unit_to_empty_struct {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 271)]
            Added { sku: String },
            #[batpak(id = 272)]
            Left,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 271)]
            Added { sku: String },
            #[batpak(id = 272)]
            Left {},
        }
    }

    edit! {
        edit: "unit variant `Left` becomes `Left {}`",
        want: Want::Pass(&[27]),
        samples: [Added { sku: "pen".into() }, Left, Left],
        expected: [Added { sku: "pen".into() }, Left {}, Left {}],
        fresh: Left {},
    }
}

pub mod r27_unit_to_empty_tuple {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 281)]
            Added { sku: String },
            #[batpak(id = 282)]
            Left,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x6)]
        pub enum Cart {
            #[batpak(id = 281)]
            Added { sku: String },
            #[batpak(id = 282)]
            Left(),
        }
    }

    edit! {
        edit: "unit variant `Left` becomes `Left()`",
        want: Want::Pass(&[27]),
        samples: [Added { sku: "pen".into() }, Left],
        expected: [Added { sku: "pen".into() }, Left()],
        fresh: Left(),
    }
}
