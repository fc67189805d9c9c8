use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
#[batpak(upcast_from = A, upcast_from = B)]
struct Point {
    x: i32,
}

fn main() {}
