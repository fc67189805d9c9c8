use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1)]
    Joined {
        #[serde(flatten)]
        extra: std::collections::BTreeMap<String, String>,
    },
}

fn main() {}
