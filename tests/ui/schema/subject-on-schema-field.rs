use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
struct Address {
    #[batpak(subject)]
    owner: String,
}

fn main() {}
