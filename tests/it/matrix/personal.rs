//! Rows that make a field personal or not (row 28 of the rules table in
//! docs/schema-evolution.md): the wire bytes change (a tag, then a sealed
//! value), so in place it breaks; as a new version with an upcaster from the
//! clear shape it passes, and the old events read back through the chain.
//! Category 0x5, kind ids 281 to 286.

use super::Want;
use batpak::Personal;
use serde::{Deserialize, Serialize};

pub mod r28_field_made_personal {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 281)]
            Added { sku: String, email: String },
            #[batpak(id = 282)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 281)]
            Added {
                sku: String,
                #[batpak(personal)]
                email: Personal<String>,
            },
            #[batpak(id = 282)]
            Cleared,
        }
    }

    edit! {
        edit: "make a field personal in place (`email: Personal<String>`)",
        want: Want::Fail(&[28]),
        samples: [Added { sku: "pen".into(), email: "ada@example.org".into() }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), email: Personal::from("alan@example.org".to_owned()) },
    }
}

pub mod r28_field_no_longer_personal {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 283)]
            Added {
                sku: String,
                #[batpak(personal)]
                email: Personal<String>,
            },
            #[batpak(id = 284)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 283)]
            Added { sku: String, email: String },
            #[batpak(id = 284)]
            Cleared,
        }
    }

    edit! {
        edit: "make a personal field plain in place (`email: String`)",
        want: Want::Fail(&[28]),
        samples: [Added { sku: "pen".into(), email: Personal::from("ada@example.org".to_owned()) }, Cleared],
        expected: [],
        fresh: Added { sku: "ink".into(), email: "alan@example.org".into() },
    }
}

pub mod r28_made_personal_with_upcast {
    use super::*;

    pub mod before {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 285)]
            Added { sku: String, email: String },
            #[batpak(id = 286)]
            Cleared,
        }
    }

    pub mod after {
        use super::*;
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Schema)]
        pub struct AddedV1 {
            pub sku: String,
            pub email: String,
        }

        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
        #[batpak(category = 0x5)]
        pub enum Cart {
            #[batpak(id = 285, version = 2, upcast_from = AddedV1)]
            Added {
                sku: String,
                #[batpak(personal)]
                email: Personal<String>,
            },
            #[batpak(id = 286)]
            Cleared,
        }

        impl From<AddedV1> for Cart {
            fn from(v: AddedV1) -> Self {
                Cart::Added {
                    sku: v.sku,
                    email: Personal::from(v.email),
                }
            }
        }
    }

    edit! {
        edit: "make a field personal with `version = 2, upcast_from = AddedV1`",
        want: Want::Pass(&[]),
        samples: [Added { sku: "pen".into(), email: "ada@example.org".into() }, Cleared],
        expected: [Added { sku: "pen".into(), email: Personal::from("ada@example.org".to_owned()) }, Cleared],
        fresh: Added { sku: "ink".into(), email: Personal::from("alan@example.org".to_owned()) },
    }
}
