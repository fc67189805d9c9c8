#![allow(non_camel_case_types)]

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1)]
    PlayerJoined,
    #[batpak(id = 2)]
    Player_Joined,
}

fn main() {}
