use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
enum Player {
    #[batpak(id = 1)]
    Joined { name: String },
}

fn main() {}
