//! The one place that names an event kind: `Family::Variant` from the log's
//! schema ledger, the library's system kinds by name (`batpak::Denial`), and
//! otherwise the kind in hex (`0x1001`, always `0x` and four lowercase
//! digits). `--kind` parses any of the three forms, or a decimal number.

use crate::Failure;
use batpak::event::{system, EventKind};
use batpak::schema::EventShape;
use batpak::store::{ReadOnly, Store};
use std::collections::BTreeMap;

/// The library's own kinds and their names.
const SYSTEM: [(EventKind, &str); 6] = [
    (system::LEDGER, "batpak::SchemaLedger"),
    (system::ERASURE, "batpak::Erasure"),
    (system::DENIAL, "batpak::Denial"),
    (system::BYPASS, "batpak::Bypass"),
    (system::RETENTION, "batpak::Retention"),
    (system::RETENTION_POLICY, "batpak::RetentionPolicy"),
];

/// At most this many close names in a usage error.
const SUGGESTIONS: usize = 5;

/// A kind in hex: `0x` and four lowercase digits.
pub(crate) fn hex(kind: EventKind) -> String {
    format!("{:#06x}", kind.raw())
}

/// The name of a shape: `Family::Variant`, or the family alone.
pub(crate) fn shape_name(shape: &EventShape) -> String {
    match &shape.variant {
        Some(variant) => format!("{}::{variant}", shape.family),
        None => shape.family.clone(),
    }
}

/// The names of the kinds one log knows.
#[derive(Debug, Default)]
pub(crate) struct Kinds {
    names: BTreeMap<u16, String>,
}

impl Kinds {
    /// The names `store`'s ledger gives its kinds, and the system kinds.
    pub fn of(store: &Store<ReadOnly>) -> Self {
        Self::from_ledger(
            store
                .schema_ledger()
                .iter()
                .map(|(kind, version, known)| (*kind, *version, shape_name(&known.shape))),
        )
    }

    /// From ledger entries (kind, version, name): a kind is named as its
    /// newest version is (the last revision recorded, when there are several).
    pub fn from_ledger(entries: impl IntoIterator<Item = (EventKind, u16, String)>) -> Self {
        let mut newest: BTreeMap<u16, (u16, String)> = BTreeMap::new();
        for (kind, version, name) in entries {
            let slot = newest.entry(kind.raw()).or_insert((version, name.clone()));
            if version >= slot.0 {
                *slot = (version, name);
            }
        }
        let mut names: BTreeMap<u16, String> =
            newest.into_iter().map(|(k, (_, n))| (k, n)).collect();
        for (kind, name) in SYSTEM {
            names.insert(kind.raw(), name.to_owned());
        }
        Self { names }
    }

    /// The kind's name, if the ledger or the library names it.
    pub fn name(&self, kind: EventKind) -> Option<&str> {
        self.names.get(&kind.raw()).map(String::as_str)
    }

    /// The kind's name, or its hex when it has none.
    pub fn label(&self, kind: EventKind) -> String {
        self.name(kind).map_or_else(|| hex(kind), str::to_owned)
    }

    /// Hex and name together (`0x1001 Cart::CheckedOut`), or the hex alone.
    pub fn hex_and_name(&self, kind: EventKind) -> String {
        match self.name(kind) {
            Some(name) => format!("{} {name}", hex(kind)),
            None => hex(kind),
        }
    }

    /// A kind as `--kind` takes it: a name, hex (`0x1001`) or decimal.
    pub fn parse(&self, s: &str) -> Result<EventKind, Failure> {
        let number = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(u16::from_str_radix(h, 16).ok())
        } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            Some(s.parse::<u16>().ok())
        } else {
            None
        };
        match number {
            Some(Some(raw)) => return Ok(EventKind::from_raw(raw)),
            Some(None) => {
                return Err(Failure::Usage(format!(
                    "bad kind `{s}`: a kind is 16 bits (0x0000 to 0xffff, or 0 to 65535)"
                )))
            }
            None => {}
        }
        let matching: Vec<u16> = self
            .names
            .iter()
            .filter(|(_, n)| n.as_str() == s)
            .map(|(k, _)| *k)
            .collect();
        match matching[..] {
            [raw] => Ok(EventKind::from_raw(raw)),
            [] => Err(Failure::Usage(self.unknown(s))),
            _ => Err(Failure::Usage(format!(
                "kind `{s}` names several kinds ({}); give one in hex",
                matching
                    .iter()
                    .map(|k| hex(EventKind::from_raw(*k)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The usage error for a name no kind has: the close names, if any.
    fn unknown(&self, s: &str) -> String {
        let wanted = s.to_lowercase();
        let mut close: Vec<(usize, &str)> = self
            .names
            .values()
            .filter_map(|name| {
                let lower = name.to_lowercase();
                let variant = lower.rsplit("::").next().unwrap_or(&lower);
                let distance = edit_distance(&wanted, &lower);
                let near = distance <= (wanted.len() / 3).max(2)
                    || lower.contains(&wanted)
                    || wanted.contains(variant)
                    || edit_distance(&wanted, variant) <= 2;
                near.then_some((distance, name.as_str()))
            })
            .collect();
        close.sort();
        close.dedup();
        let mut msg = format!("no kind is named `{s}` in this log");
        if close.is_empty() {
            let known: Vec<&str> = self.names.values().map(String::as_str).collect();
            msg.push_str(&format!(
                "; kinds it names: {} (or give a kind in hex, e.g. 0x1001)",
                known.join(", ")
            ));
        } else {
            let names: Vec<&str> = close.iter().take(SUGGESTIONS).map(|(_, n)| *n).collect();
            msg.push_str(&format!("; did you mean {}?", names.join(", ")));
        }
        msg
    }

    /// A denial or bypass payload with its `proposed_kind` (a number) shown
    /// as hex and name, like every other kind the inspector prints.
    pub fn annotate_payload(&self, kind: EventKind, payload: &mut serde_json::Value) {
        if kind != system::DENIAL && kind != system::BYPASS {
            return;
        }
        let Some(field) = payload.get_mut("proposed_kind") else {
            return;
        };
        if let Some(raw) = field.as_u64().and_then(|n| u16::try_from(n).ok()) {
            *field = self.hex_and_name(EventKind::from_raw(raw)).into();
        }
    }
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds() -> Kinds {
        let k = |raw| EventKind::from_raw(raw);
        Kinds::from_ledger([
            (k(0x1001), 1, "Cart::Opened".to_owned()),
            (k(0x1002), 1, "Cart::Added".to_owned()),
            (k(0x1002), 2, "Cart::ItemAdded".to_owned()),
            (k(0x1003), 1, "Cart::CheckedOut".to_owned()),
        ])
    }

    #[test]
    fn kinds_are_named_by_ledger_library_or_hex() {
        let kinds = kinds();
        assert_eq!(kinds.label(EventKind::from_raw(0x1003)), "Cart::CheckedOut");
        assert_eq!(kinds.label(EventKind::from_raw(0x1002)), "Cart::ItemAdded");
        assert_eq!(kinds.label(system::DENIAL), "batpak::Denial");
        assert_eq!(kinds.label(system::LEDGER), "batpak::SchemaLedger");
        assert_eq!(kinds.label(EventKind::from_raw(0x7001)), "0x7001");
        assert_eq!(hex(EventKind::from_raw(0xd001)), "0xd001");
        assert_eq!(hex(EventKind::from_raw(0x2)), "0x0002");
    }

    #[test]
    fn kind_accepts_names_hex_and_decimal() {
        let kinds = kinds();
        for s in ["Cart::CheckedOut", "0x1003", "0X1003", "4099"] {
            assert_eq!(kinds.parse(s).unwrap().raw(), 0x1003, "{s}");
        }
        assert_eq!(kinds.parse("batpak::Bypass").unwrap(), system::BYPASS);
        for bad in ["0x10000", "70000", "0x", "0xzz"] {
            assert!(matches!(kinds.parse(bad), Err(Failure::Usage(_))), "{bad}");
        }
    }

    #[test]
    fn an_unknown_name_lists_close_names() {
        let Err(Failure::Usage(msg)) = kinds().parse("Cart::CheckOut") else {
            panic!("expected a usage error");
        };
        assert!(msg.contains("did you mean Cart::CheckedOut"), "{msg}");
        let Err(Failure::Usage(msg)) = kinds().parse("Zebra") else {
            panic!("expected a usage error");
        };
        assert!(msg.contains("kinds it names: "), "{msg}");
    }

    #[test]
    fn proposed_kind_is_shown_as_hex_and_name() {
        let mut payload = serde_json::json!({"proposed_kind": 4099, "reason": "x"});
        kinds().annotate_payload(system::BYPASS, &mut payload);
        assert_eq!(payload["proposed_kind"], "0x1003 Cart::CheckedOut");
        let mut other = serde_json::json!({"proposed_kind": 4099});
        kinds().annotate_payload(EventKind::from_raw(0x1001), &mut other);
        assert_eq!(other["proposed_kind"], 4099);
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
