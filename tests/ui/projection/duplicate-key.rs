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
#[batpak(events = Player, cache_version = 1, cache_version = 2)]
struct Stats {
    moves: u64,
}

impl batpak::Apply<Player> for Stats {
    fn apply(&mut self, _: &Player, _: &batpak::EventMeta) {}
}

fn main() {}
