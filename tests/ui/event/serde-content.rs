use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
#[serde(tag = "t", content = "c")]
enum Player {
    #[batpak(id = 1)]
    Joined { name: String },
}

fn main() {}
