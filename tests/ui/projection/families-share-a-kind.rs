use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Cart {
    #[batpak(id = 1)]
    Added { sku: String },
}

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1, id = 1)]
struct Restocked {
    qty: u32,
}

#[derive(Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = Cart, events = Restocked)]
struct Shop {
    items: u64,
}

impl batpak::Apply<Cart> for Shop {
    fn apply(&mut self, _: &Cart, _: &batpak::EventMeta) {}
}

impl batpak::Apply<Restocked> for Shop {
    fn apply(&mut self, _: &Restocked, _: &batpak::EventMeta) {}
}

fn main() {}
