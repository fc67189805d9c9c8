use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Cart {
    #[batpak(id = 1)]
    Added { sku: String },
    #[batpak(id = 2)]
    Removed { sku: String },
}

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x2)]
enum Stock {
    #[batpak(id = 1)]
    Received { qty: u32 },
}

#[derive(Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Cart, events = Stock, variants(Added))]
struct Shop {
    items: u64,
}

impl batpak::Apply<Cart> for Shop {
    fn apply(&mut self, _: &Cart, _: &batpak::EventMeta) {}
}

impl batpak::Apply<Stock> for Shop {
    fn apply(&mut self, _: &Stock, _: &batpak::EventMeta) {}
}

fn main() {}
