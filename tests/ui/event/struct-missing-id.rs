use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
struct Deposited {
    cents: u64,
}

fn main() {}
