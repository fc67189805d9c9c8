use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Player {
    #[batpak(id = 1)]
    Joined {
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    },
}

fn main() {}
