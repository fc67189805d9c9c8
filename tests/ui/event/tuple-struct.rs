use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1, id = 1)]
struct Deposited(u64);

fn main() {}
