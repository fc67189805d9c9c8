use batpak::Personal;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Member {
    #[batpak(id = 1)]
    Joined {
        #[batpak(subject, personal)]
        member: Personal<String>,
    },
}

fn main() {}
