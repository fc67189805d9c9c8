use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
enum Color {
    Red,
    #[serde(skip)]
    Green,
}

fn main() {}
