use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak]
    Joined { name: String },
}

fn main() {}
