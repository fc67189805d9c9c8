use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x10)]
enum Player {
    #[batpak(id = 1)]
    Joined { name: String },
}

fn main() {}
