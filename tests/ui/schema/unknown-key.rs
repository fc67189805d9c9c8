use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
#[batpak(version = 2)]
struct Point {
    x: i32,
}

// The derive's stub keeps uses of the type free of follow-up errors.
fn main() {
    let _ = <Point as batpak::Schema>::shape();
}
