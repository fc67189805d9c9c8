use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Schema)]
struct Tree {
    children: Vec<Tree>,
}

fn main() {}
