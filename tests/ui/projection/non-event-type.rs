use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct NotAnEvent {
    x: i32,
}

#[derive(Default, Serialize, Deserialize, batpak::Projection)]
#[batpak(events = NotAnEvent)]
struct Stats {
    moves: u64,
}

fn main() {}
