use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Cart {
    #[batpak(id = 1)]
    Added { sku: String },
    #[batpak(id = 2)]
    Removed { sku: String },
}

#[derive(Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Cart, cache_version = 4294967296)]
struct Shop {
    items: u64,
}

impl batpak::Apply<Cart> for Shop {
    fn apply(&mut self, _: &Cart, _: &batpak::EventMeta) {}
}

fn main() {}
