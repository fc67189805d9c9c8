use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1, version = 2, upcast_from = "Old")]
    Joined { name: String },
}

fn main() {}
