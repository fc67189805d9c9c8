use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1)]
    Joined { name: String },
    #[batpak(id = 2)]
    Moved { x: i32 },
    #[batpak(id = 1)]
    Left,
}

// The derive's stubs keep uses of the family free of follow-up errors.
fn main() {
    let _ = (Player::JOINED, Player::MOVED, Player::LEFT);
    let _ = <Player as batpak::EventFamily>::KIND_LIST;
}
