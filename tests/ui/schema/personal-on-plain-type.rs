use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
struct Address {
    #[batpak(personal)]
    street: String,
}

fn main() {}
