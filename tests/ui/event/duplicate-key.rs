use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1, version = 2, version = 3, upcast_from = Old)]
    Joined { name: String },
}

#[derive(Serialize, Deserialize, batpak::Schema)]
struct Old {}

impl From<Old> for Player {
    fn from(_: Old) -> Self {
        Player::Joined { name: String::new() }
    }
}

fn main() {}
