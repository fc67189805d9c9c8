//! Built-in [`Schema`] impls for the standard types payloads are made of.

use super::{Fields, Schema, Shape};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

macro_rules! leaf {
    ($($t:ty => $s:expr),* $(,)?) => {
        $(impl Schema for $t {
            fn shape() -> Shape {
                $s
            }
        })*
    };
}

leaf! {
    bool => Shape::Bool,
    u8 => Shape::U8,
    u16 => Shape::U16,
    u32 => Shape::U32,
    u64 => Shape::U64,
    u128 => Shape::U128,
    usize => Shape::Usize,
    i8 => Shape::I8,
    i16 => Shape::I16,
    i32 => Shape::I32,
    i64 => Shape::I64,
    i128 => Shape::I128,
    isize => Shape::Isize,
    f32 => Shape::F32,
    f64 => Shape::F64,
    char => Shape::Char,
    String => Shape::String,
    str => Shape::String,
    () => Shape::Unit,
}

impl<T: Schema + ?Sized> Schema for Box<T> {
    fn shape() -> Shape {
        T::shape()
    }
}

impl<T: Schema + ?Sized> Schema for std::sync::Arc<T> {
    fn shape() -> Shape {
        T::shape()
    }
}

impl<T: Schema + ?Sized + ToOwned> Schema for std::borrow::Cow<'_, T> {
    fn shape() -> Shape {
        T::shape()
    }
}

impl<T: Schema> Schema for Option<T> {
    fn shape() -> Shape {
        Shape::Option(Box::new(T::shape()))
    }
}

macro_rules! seq {
    ($($t:ident),*) => {
        $(impl<T: Schema> Schema for $t<T> {
            fn shape() -> Shape {
                Shape::Seq(Box::new(T::shape()))
            }
        })*
    };
}

seq!(Vec, VecDeque, BTreeSet);

impl<T: Schema, S> Schema for HashSet<T, S> {
    fn shape() -> Shape {
        Shape::Seq(Box::new(T::shape()))
    }
}

impl<T: Schema> Schema for [T] {
    fn shape() -> Shape {
        Shape::Seq(Box::new(T::shape()))
    }
}

impl<T: Schema, const N: usize> Schema for [T; N] {
    fn shape() -> Shape {
        Shape::Array(Box::new(T::shape()), N)
    }
}

impl<K: Schema, V: Schema> Schema for BTreeMap<K, V> {
    fn shape() -> Shape {
        Shape::Map(Box::new(K::shape()), Box::new(V::shape()))
    }
}

impl<K: Schema, V: Schema, S> Schema for HashMap<K, V, S> {
    fn shape() -> Shape {
        Shape::Map(Box::new(K::shape()), Box::new(V::shape()))
    }
}

macro_rules! tuple {
    ($($t:ident),+) => {
        impl<$($t: Schema),+> Schema for ($($t,)+) {
            fn shape() -> Shape {
                Shape::Tuple(vec![$($t::shape()),+])
            }
        }
    };
}

tuple!(A);
tuple!(A, B);
tuple!(A, B, C);
tuple!(A, B, C, D);
tuple!(A, B, C, D, E);
tuple!(A, B, C, D, E, F);
tuple!(A, B, C, D, E, F, G);
tuple!(A, B, C, D, E, F, G, H);
tuple!(A, B, C, D, E, F, G, H, I);
tuple!(A, B, C, D, E, F, G, H, I, J);
tuple!(A, B, C, D, E, F, G, H, I, J, K);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L, M);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
tuple!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);

/// The fields of a struct-like shape (a derived struct's `Shape::Struct`), for
/// turning a `Schema` type into the fields of an event version.
pub fn fields_of(shape: Shape) -> Fields {
    match shape {
        Shape::Struct { fields, .. } => fields,
        Shape::Unit => Fields::Unit,
        other => Fields::Tuple(vec![other]),
    }
}
