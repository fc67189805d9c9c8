use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
struct Point<T> {
    x: T,
}

fn main() {}
