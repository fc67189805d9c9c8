use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
enum Color {
    #[batpak(id = 1)]
    Red,
}

fn main() {}
