use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
#[serde(into = "u32")]
#[derive(Clone)]
struct Id {
    raw: u32,
}

impl From<Id> for u32 {
    fn from(id: Id) -> u32 {
        id.raw
    }
}

fn main() {}
