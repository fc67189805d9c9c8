//! [`EventKind`]: a 16-bit kind id, 4 bits of category and 12 bits of type id.

use std::fmt;

/// Category reserved for the library's own system events.
pub const CATEGORY_SYSTEM: u8 = 0x0;
/// Category reserved for the library's own descriptors and ledger entries.
pub const CATEGORY_LIBRARY: u8 = 0xD;

/// Why [`EventKind::try_custom`] refused a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KindError {
    /// The category does not fit in four bits.
    CategoryOutOfRange {
        /// The category given.
        category: u8,
    },
    /// The type id does not fit in twelve bits.
    TypeIdOutOfRange {
        /// The type id given.
        type_id: u16,
    },
    /// Categories `0x0` and `0xD` belong to the library.
    ReservedCategory {
        /// The category given.
        category: u8,
    },
}

impl fmt::Display for KindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CategoryOutOfRange { category } => {
                write!(f, "category {category:#x} does not fit in 4 bits")
            }
            Self::TypeIdOutOfRange { type_id } => {
                write!(f, "type id {type_id:#x} does not fit in 12 bits")
            }
            Self::ReservedCategory { category } => {
                write!(f, "category {category:#x} is reserved for the library")
            }
        }
    }
}

impl std::error::Error for KindError {}

/// The kind of an event: a category (upper 4 bits) and a type id (lower 12 bits).
#[derive(
    Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct EventKind(u16);

impl EventKind {
    /// A user kind. Panics (at compile time in a `const`) when the category or
    /// type id is out of range or the category is reserved; see [`EventKind::try_custom`].
    pub const fn custom(category: u8, type_id: u16) -> Self {
        match Self::try_custom(category, type_id) {
            Ok(kind) => kind,
            Err(KindError::CategoryOutOfRange { .. }) => panic!("category does not fit in 4 bits"),
            Err(KindError::TypeIdOutOfRange { .. }) => panic!("type id does not fit in 12 bits"),
            Err(KindError::ReservedCategory { .. }) => {
                panic!("categories 0x0 and 0xD are reserved for the library")
            }
        }
    }

    /// A user kind, or an error when it is out of range or reserved.
    pub const fn try_custom(category: u8, type_id: u16) -> Result<Self, KindError> {
        if category > 0xF {
            return Err(KindError::CategoryOutOfRange { category });
        }
        if type_id > 0xFFF {
            return Err(KindError::TypeIdOutOfRange { type_id });
        }
        if category == CATEGORY_SYSTEM || category == CATEGORY_LIBRARY {
            return Err(KindError::ReservedCategory { category });
        }
        Ok(Self(((category as u16) << 12) | type_id))
    }

    /// A kind in a reserved category, for the library's own system events.
    pub(crate) const fn reserved(category: u8, type_id: u16) -> Self {
        assert!(category == CATEGORY_SYSTEM || category == CATEGORY_LIBRARY);
        assert!(type_id <= 0xFFF);
        Self(((category as u16) << 12) | type_id)
    }

    /// Rebuilds a kind from its packed form (as stored on disk).
    pub const fn from_raw(raw: u16) -> Self {
        Self(raw)
    }

    /// The packed 16-bit form.
    pub const fn raw(self) -> u16 {
        self.0
    }

    /// The category, `0x0..=0xF`.
    pub const fn category(self) -> u8 {
        (self.0 >> 12) as u8
    }

    /// The type id within the category, `0x000..=0xFFF`.
    pub const fn type_id(self) -> u16 {
        self.0 & 0xFFF
    }

    /// Whether the kind lies in a category reserved for the library.
    pub const fn is_reserved(self) -> bool {
        let c = self.category();
        c == CATEGORY_SYSTEM || c == CATEGORY_LIBRARY
    }
}

impl fmt::Debug for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EventKind({:#x}:{:#05x})",
            self.category(),
            self.type_id()
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#06x}", self.0)
    }
}
