use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Counted {
    #[batpak(id = 1)]
    Added { by: u32 },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    total: u32,
}

struct Add(u32);

trait Named {}

#[batpak::aggregate]
impl Named for Counter {}

fn main() {}
