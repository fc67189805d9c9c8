//! A test-only stand-in for `#[derive(batpak::Event)]`: a one-kind family
//! written by hand, for runtime tests that need families the derive would
//! refuse (two types claiming one kind, a drifted shape) or cannot reach.

/// `one_kind_family!(Type, name = "Family", variant = "Kind" | None-for-struct,
/// kind = KIND, { field: Type => Shape, .. })`.
macro_rules! one_kind_family {
    ($ty:ident, name = $name:literal, variant = $variant:expr, kind = $kind:expr,
     { $($field:ident : $fty:ty => $shape:expr),* $(,)? }) => {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        struct $ty {
            $($field: $fty),*
        }

        impl $crate::schema::EventFamily for $ty {
            const NAME: &'static str = $name;
            const KINDS: &'static [$crate::schema::KindInfo] = &[$crate::schema::KindInfo {
                kind: $kind,
                variant: match $variant {
                    Some(v) => v,
                    None => $name,
                },
                version: 1,
                retired: false,
            }];
            const KIND_LIST: &'static [$crate::event::EventKind] = &[$kind];

            fn kind(&self) -> $crate::event::EventKind {
                $kind
            }
            fn encode_fields(&self) -> Result<Vec<u8>, $crate::schema::SchemaError> {
                $crate::schema::encode(self)
            }
            fn decode_fields(
                _: $crate::event::EventKind,
                _: u16,
                bytes: &[u8],
            ) -> Result<Self, $crate::schema::SchemaError> {
                $crate::schema::decode(bytes)
            }
            fn event_shapes() -> Vec<($crate::event::EventKind, u16, $crate::schema::EventShape)> {
                let variant: Option<&str> = $variant;
                let fields = $crate::schema::Fields::Named(vec![$($crate::schema::Field {
                    name: stringify!($field).into(),
                    shape: $shape,
                }),*]);
                vec![($kind, 1, $crate::schema::EventShape {
                    family: $name.into(),
                    variant: variant.map(Into::into),
                    fields,
                })]
            }
        }
    };
}

pub(crate) use one_kind_family;
