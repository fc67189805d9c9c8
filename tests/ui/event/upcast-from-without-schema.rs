use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1, version = 2, upcast_from = JoinedV1)]
    Joined { name: String },
}

#[derive(Serialize, Deserialize)]
struct JoinedV1 {}

impl From<JoinedV1> for Player {
    fn from(_: JoinedV1) -> Self {
        Player::Joined { name: String::new() }
    }
}

fn main() {}
