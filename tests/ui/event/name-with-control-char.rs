use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1, id = 1, name = "Cart\n")]
struct Added {
    sku: String,
}

fn main() {}
