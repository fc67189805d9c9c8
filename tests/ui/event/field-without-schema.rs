use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1)]
    Joined { name: Name },
}

#[derive(Serialize, Deserialize)]
struct Name(String);

fn main() {}
