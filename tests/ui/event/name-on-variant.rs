use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum ShoppingCart {
    #[batpak(id = 1, name = "Added")]
    Added { sku: String },
}

fn main() {}
