use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
#[serde(default)]
#[derive(Default)]
struct Point {
    x: i32,
}

fn main() {}
