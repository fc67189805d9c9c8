use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1, name = "Cart", name = "Basket")]
enum ShoppingCart {
    #[batpak(id = 1)]
    Added { sku: String },
}

fn main() {}
