use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1, version = 0)]
    Joined { name: String },
}

fn main() {}
