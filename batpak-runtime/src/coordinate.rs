//! Where an event lives: a [`Coordinate`] names an entity (whose events form one
//! ordered, hash-chained stream) and the scope it belongs to; a [`Region`] selects
//! a set of coordinates and kinds for queries, subscriptions and cursors.

use crate::event::kind::EventKind;
use std::fmt;
use std::sync::Arc;

/// Longest entity or scope name, in bytes.
pub const NAME_BYTES_MAX: usize = 256;

/// Why a name was refused by [`Coordinate::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoordinateError {
    /// The name is empty.
    Empty {
        /// Which part of the coordinate was refused.
        part: NamePart,
    },
    /// The name is longer than [`NAME_BYTES_MAX`].
    TooLong {
        /// Which part of the coordinate was refused.
        part: NamePart,
        /// Its length in bytes.
        len: usize,
    },
    /// The name holds a NUL or another control character.
    ControlCharacter {
        /// Which part of the coordinate was refused.
        part: NamePart,
        /// Byte offset of the character.
        offset: usize,
    },
    /// The name holds `/` or `..`, which could be mistaken for a path.
    PathLike {
        /// Which part of the coordinate was refused.
        part: NamePart,
    },
    /// The name holds an invisible or bidirectional formatting character
    /// (zero-width space, byte order mark, right-to-left override, ...): two
    /// names that look the same would be different entities.
    InvisibleCharacter {
        /// Which part of the coordinate was refused.
        part: NamePart,
        /// Byte offset of the character.
        offset: usize,
        /// The character.
        character: char,
    },
    /// Names starting with `$batpak` belong to the library's own events.
    Reserved {
        /// Which part of the coordinate was refused.
        part: NamePart,
    },
}

/// The prefix of the names the library writes its own events under.
pub const RESERVED_PREFIX: &str = "$batpak";

/// Whether `c` is invisible or reorders text: the Unicode format characters
/// that can make two names look alike (soft hyphen, Arabic letter mark,
/// Mongolian vowel separator, zero-width and joiner characters, directional
/// marks, embeddings, overrides and isolates, invisible operators, the byte
/// order mark, interlinear annotation marks). A fixed list, so no Unicode
/// tables are needed.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

/// The entity of `entity`'s audit stream (see [`Coordinate::audit`]).
pub fn audit_entity(entity: &str) -> String {
    format!("{RESERVED_PREFIX}:audit:{entity}")
}

/// The entity of `entity`'s retention stream (see [`Coordinate::retention`]).
pub fn retention_entity(entity: &str) -> String {
    format!("{RESERVED_PREFIX}:retention:{entity}")
}

/// The two names of a coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamePart {
    /// The entity name.
    Entity,
    /// The scope name.
    Scope,
}

impl fmt::Display for CoordinateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty { part } => write!(f, "{part:?} name is empty"),
            Self::TooLong { part, len } => {
                write!(
                    f,
                    "{part:?} name is {len} bytes, at most {NAME_BYTES_MAX} allowed"
                )
            }
            Self::ControlCharacter { part, offset } => {
                write!(f, "{part:?} name has a control character at byte {offset}")
            }
            Self::PathLike { part } => write!(f, "{part:?} name contains `/` or `..`"),
            Self::InvisibleCharacter {
                part,
                offset,
                character,
            } => write!(
                f,
                "{part:?} name has the invisible character U+{:04X} at byte {offset}",
                u32::from(*character)
            ),
            Self::Reserved { part } => write!(
                f,
                "{part:?} names starting with `{RESERVED_PREFIX}` are the library's own"
            ),
        }
    }
}

impl std::error::Error for CoordinateError {}

/// Checks one name against the rules of [`Coordinate::new`].
pub fn validate_name(name: &str, part: NamePart) -> Result<(), CoordinateError> {
    if name.is_empty() {
        return Err(CoordinateError::Empty { part });
    }
    if name.len() > NAME_BYTES_MAX {
        return Err(CoordinateError::TooLong {
            part,
            len: name.len(),
        });
    }
    if let Some((offset, _)) = name.char_indices().find(|(_, c)| c.is_control()) {
        return Err(CoordinateError::ControlCharacter { part, offset });
    }
    if let Some((offset, character)) = name.char_indices().find(|(_, c)| is_invisible(*c)) {
        return Err(CoordinateError::InvisibleCharacter {
            part,
            offset,
            character,
        });
    }
    if name.contains('/') || name.contains("..") {
        return Err(CoordinateError::PathLike { part });
    }
    Ok(())
}

/// An entity and its scope. Names are validated once, at construction, and shared
/// cheaply afterwards (cloning a coordinate bumps two reference counts).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Coordinate {
    entity: Arc<str>,
    scope: Arc<str>,
}

impl Coordinate {
    /// Builds a coordinate; both names must be non-empty, at most
    /// [`NAME_BYTES_MAX`] bytes, free of control characters, invisible and
    /// bidirectional formatting characters, `/` and `..`.
    ///
    /// Names are compared byte for byte: batpak does not normalize Unicode, so
    /// a composed `é` (U+00E9) and a decomposed one (`e` + U+0301) name two
    /// entities. Normalize names that come from people (to NFC) before using
    /// them. Names starting with `$batpak` are the library's own; the write
    /// paths refuse them for application events.
    ///
    /// An entity is one stream, in one scope: once an entity has events under
    /// a scope, an append naming it under another scope is refused with
    /// `StoreError::ScopeMismatch`.
    pub fn new(entity: impl AsRef<str>, scope: impl AsRef<str>) -> Result<Self, CoordinateError> {
        let (entity, scope) = (entity.as_ref(), scope.as_ref());
        validate_name(entity, NamePart::Entity)?;
        validate_name(scope, NamePart::Scope)?;
        Ok(Self {
            entity: Arc::from(entity),
            scope: Arc::from(scope),
        })
    }

    /// The coordinate of this entity's audit stream: the denials and bypasses
    /// recorded for it (`$batpak:audit:<entity>`, same scope). A name the
    /// library makes, so it skips the length limit a long entity would pass.
    pub fn audit(&self) -> Self {
        Self {
            entity: Arc::from(audit_entity(&self.entity)),
            scope: Arc::clone(&self.scope),
        }
    }

    /// The coordinate of this entity's retention stream: the cuts recorded
    /// for it (`$batpak:retention:<entity>`, same scope; see
    /// `Store::truncate_before`).
    pub fn retention(&self) -> Self {
        Self {
            entity: Arc::from(retention_entity(&self.entity)),
            scope: Arc::clone(&self.scope),
        }
    }

    /// Builds a coordinate from names the store has already validated and interned.
    pub(crate) fn from_interned(entity: Arc<str>, scope: Arc<str>) -> Self {
        Self { entity, scope }
    }

    /// Whether either name is one the library reserves for its own events.
    pub fn is_reserved(&self) -> bool {
        self.entity.starts_with(RESERVED_PREFIX) || self.scope.starts_with(RESERVED_PREFIX)
    }

    /// The entity name.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// The scope name.
    pub fn scope(&self) -> &str {
        &self.scope
    }
}

impl fmt::Debug for Coordinate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Coordinate({:?} in {:?})", self.entity, self.scope)
    }
}

impl fmt::Display for Coordinate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.entity, self.scope)
    }
}

/// How a region matches entity names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntityFilter {
    /// Every entity.
    Any,
    /// Exactly this entity.
    Exact(Arc<str>),
    /// Every entity whose name starts with this prefix, byte for byte: a
    /// plain string prefix (`user` also matches `username`).
    Prefix(Arc<str>),
    /// This entity and every entity below it in a `:`-separated hierarchy:
    /// `user:42` matches `user:42` and `user:42:cart`, never `user:420`.
    Under(Arc<str>),
}

/// The separator of hierarchical entity names (`tenant:user:42`).
pub const HIERARCHY_SEPARATOR: char = ':';

/// A selection of events by entity, scope, kind and category. Filters combine with
/// AND; [`Region::all`] selects everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Which entities match.
    pub entity: EntityFilter,
    /// Only this scope, when set.
    pub scope: Option<Arc<str>>,
    /// Only these kinds, when non-empty.
    pub kinds: Vec<EventKind>,
    /// Only this category, when set.
    pub category: Option<u8>,
    /// Leave out the library's own system events (reserved categories 0x0
    /// and 0xD: schema ledger entries, denials, bypasses).
    pub user_only: bool,
}

impl Region {
    /// Every event in the store.
    pub fn all() -> Self {
        Self {
            entity: EntityFilter::Any,
            scope: None,
            kinds: Vec::new(),
            category: None,
            user_only: false,
        }
    }

    /// Every event an application wrote: all but the library's system events.
    pub fn user_events() -> Self {
        Self::all().without_system_events()
    }

    /// Narrows the region to events of user kinds (no system events).
    pub fn without_system_events(mut self) -> Self {
        self.user_only = true;
        self
    }

    /// The events of one entity.
    pub fn entity(name: impl AsRef<str>) -> Self {
        Self {
            entity: EntityFilter::Exact(Arc::from(name.as_ref())),
            ..Self::all()
        }
    }

    /// The events of every entity whose name starts with `prefix`, as a
    /// plain string prefix: `entity_prefix("user")` also selects `username`.
    /// For a namespace, end the prefix with its separator (`"user:"`) or use
    /// [`Region::entity_under`].
    pub fn entity_prefix(prefix: impl AsRef<str>) -> Self {
        Self {
            entity: EntityFilter::Prefix(Arc::from(prefix.as_ref())),
            ..Self::all()
        }
    }

    /// The events of entity `name` and of every entity below it in the
    /// `:`-separated hierarchy: `entity_under("user")` selects `user`,
    /// `user:42` and `user:42:cart`, but not `username`.
    pub fn entity_under(name: impl AsRef<str>) -> Self {
        Self {
            entity: EntityFilter::Under(Arc::from(name.as_ref())),
            ..Self::all()
        }
    }

    /// The events of one scope.
    pub fn scope(name: impl AsRef<str>) -> Self {
        Self::all().with_scope(name)
    }

    /// Narrows the region to one scope.
    pub fn with_scope(mut self, name: impl AsRef<str>) -> Self {
        self.scope = Some(Arc::from(name.as_ref()));
        self
    }

    /// Narrows the region to a kind; calling it again widens to either kind.
    pub fn with_kind(mut self, kind: EventKind) -> Self {
        if !self.kinds.contains(&kind) {
            self.kinds.push(kind);
        }
        self
    }

    /// Narrows the region to one category (the upper four bits of a kind).
    pub fn with_category(mut self, category: u8) -> Self {
        self.category = Some(category);
        self
    }

    /// Whether an event with this coordinate and kind falls in the region.
    pub fn matches(&self, entity: &str, scope: &str, kind: EventKind) -> bool {
        self.matches_names(entity, scope) && self.matches_kind(kind)
    }

    pub(crate) fn matches_names(&self, entity: &str, scope: &str) -> bool {
        let entity_ok = match &self.entity {
            EntityFilter::Any => true,
            EntityFilter::Exact(name) => &**name == entity,
            EntityFilter::Prefix(prefix) => entity.starts_with(&**prefix),
            EntityFilter::Under(name) => entity
                .strip_prefix(&**name)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(HIERARCHY_SEPARATOR)),
        };
        entity_ok && self.scope.as_deref().is_none_or(|s| s == scope)
    }

    pub(crate) fn matches_kind(&self, kind: EventKind) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&kind))
            && self.category.is_none_or(|c| c == kind.category())
            && !(self.user_only && kind.is_reserved())
    }
}

#[cfg(test)]
mod tests;
