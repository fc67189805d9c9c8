use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, batpak::Event)]
#[batpak(category = 0x1)]
enum Reading {
    #[batpak(id = 1)]
    Empty,
    #[batpak(id = 2)]
    #[serde(with = "celsius")]
    Celsius(f64),
}

mod celsius {
    pub fn serialize<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_variant("Reading", 1, "Celsius", v)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        serde::Deserialize::deserialize(d)
    }
}

fn main() {}
