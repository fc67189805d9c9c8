use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1, id = 1)]
struct Joined {
    #[batpak(subject)]
    member: String,
    #[batpak(subject)]
    account: u64,
}

fn main() {}
