use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1)]
    Joined { name: String },
    #[batpak(id = 2)]
    Moved { x: i32 },
}

#[derive(Default, Serialize, Deserialize, batpak::Projection)]
struct Stats {
    moves: u64,
}

impl batpak::Apply<Player> for Stats {
    fn apply(&mut self, _: &Player, _: &batpak::EventMeta) {}
}

// The derive's stub keeps uses of the projection free of follow-up errors.
fn main() {
    let store = batpak::store::Store::open(batpak::store::StoreConfig::new("data")).unwrap();
    let _ = store.project_typed::<Stats>("player:1");
}
