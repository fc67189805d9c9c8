use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Counted {
    #[batpak(id = 1)]
    Added { by: u32 },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Counter {
    total: u32,
}

struct Add(u32);

#[batpak::aggregate]
impl Counter {
    #[command]
    fn add(&self, add: &Add) -> Result<Vec<Counted>, String> {
        Ok(vec![Counted::Added { by: add.0 }])
    }
    #[command]
    fn add_again(&self, add: &Add) -> Result<Vec<Counted>, String> {
        Ok(vec![Counted::Added { by: add.0 }])
    }
    #[apply]
    fn evolve(&mut self, event: &Counted) {
        let Counted::Added { by } = event;
        self.total += by;
    }
}

fn main() {}
