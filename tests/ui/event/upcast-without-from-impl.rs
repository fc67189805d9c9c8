use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1, version = 2, upcast_from = JoinedV1)]
    Joined { name: String },
}

#[derive(Serialize, Deserialize, batpak::Schema)]
struct JoinedV1 {}

fn main() {}
