//! Name conversions: serde's `rename_all` rules (so shapes carry the names the
//! JSON view must show) and the SCREAMING_SNAKE_CASE of kind constants.

/// A serde `rename_all` rule, applied exactly as serde applies it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RenameRule {
    Lower,
    Upper,
    Pascal,
    Camel,
    Snake,
    ScreamingSnake,
    Kebab,
    ScreamingKebab,
}

impl RenameRule {
    /// The rule serde reads from `name`; unknown names are serde's to report.
    pub(crate) fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "lowercase" => Self::Lower,
            "UPPERCASE" => Self::Upper,
            "PascalCase" => Self::Pascal,
            "camelCase" => Self::Camel,
            "snake_case" => Self::Snake,
            "SCREAMING_SNAKE_CASE" => Self::ScreamingSnake,
            "kebab-case" => Self::Kebab,
            "SCREAMING-KEBAB-CASE" => Self::ScreamingKebab,
            _ => return None,
        })
    }

    /// A variant name (written in PascalCase) under this rule.
    pub(crate) fn variant(self, name: &str) -> String {
        match self {
            Self::Pascal => name.to_owned(),
            Self::Lower => name.to_ascii_lowercase(),
            Self::Upper => name.to_ascii_uppercase(),
            Self::Camel => lower_first(name),
            Self::Snake => {
                let mut out = String::new();
                for (i, ch) in name.char_indices() {
                    if i > 0 && ch.is_uppercase() {
                        out.push('_');
                    }
                    out.push(ch.to_ascii_lowercase());
                }
                out
            }
            Self::ScreamingSnake => Self::Snake.variant(name).to_ascii_uppercase(),
            Self::Kebab => Self::Snake.variant(name).replace('_', "-"),
            Self::ScreamingKebab => Self::ScreamingSnake.variant(name).replace('_', "-"),
        }
    }

    /// A field name (written in snake_case) under this rule.
    pub(crate) fn field(self, name: &str) -> String {
        match self {
            Self::Lower | Self::Snake => name.to_owned(),
            Self::Upper | Self::ScreamingSnake => name.to_ascii_uppercase(),
            Self::Pascal => {
                let mut out = String::new();
                let mut capitalize = true;
                for ch in name.chars() {
                    if ch == '_' {
                        capitalize = true;
                    } else if capitalize {
                        out.push(ch.to_ascii_uppercase());
                        capitalize = false;
                    } else {
                        out.push(ch);
                    }
                }
                out
            }
            Self::Camel => lower_first(&Self::Pascal.field(name)),
            Self::Kebab => name.replace('_', "-"),
            Self::ScreamingKebab => name.to_ascii_uppercase().replace('_', "-"),
        }
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// `PlayerMoved` -> `PLAYER_MOVED`, `HTTPRequest` -> `HTTP_REQUEST`, `V2Moved` -> `V2_MOVED`.
pub(crate) fn screaming_snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &ch) in chars.iter().enumerate() {
        if i > 0 && ch.is_uppercase() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            let boundary =
                prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower);
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
        }
        out.extend(ch.to_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screaming_snake_splits_words() {
        assert_eq!(screaming_snake("Joined"), "JOINED");
        assert_eq!(screaming_snake("PlayerMoved"), "PLAYER_MOVED");
        assert_eq!(screaming_snake("HTTPRequest"), "HTTP_REQUEST");
        assert_eq!(screaming_snake("V2Moved"), "V2_MOVED");
        assert_eq!(screaming_snake("Foo_Bar"), "FOO_BAR");
        assert_eq!(screaming_snake("A"), "A");
    }

    #[test]
    fn rename_rules_match_serde() {
        assert_eq!(RenameRule::Snake.variant("PlayerMoved"), "player_moved");
        assert_eq!(RenameRule::Kebab.variant("PlayerMoved"), "player-moved");
        assert_eq!(RenameRule::Camel.field("move_count"), "moveCount");
        assert_eq!(RenameRule::Pascal.field("move_count"), "MoveCount");
        assert_eq!(RenameRule::ScreamingKebab.field("move_count"), "MOVE-COUNT");
    }
}
