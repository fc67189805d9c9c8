use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
#[serde(tag = "type")]
enum Player {
    #[batpak(id = 1)]
    Joined { name: String },
}

fn main() {}
