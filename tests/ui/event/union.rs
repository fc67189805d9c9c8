#[derive(batpak::Event)]
#[batpak(category = 0x1)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
