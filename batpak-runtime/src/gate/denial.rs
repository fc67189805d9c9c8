//! [`Denial`]: why a gate refused a proposal, and [`DenialCode`], the typed,
//! machine-readable half of that answer. A denial's message and context are
//! built only when a gate refuses, so passing gates cost no allocation.

use std::fmt;

/// A stable, machine-readable reason for a denial, such as `over_limit`.
///
/// Applications declare their codes as constants and match on them; the
/// message beside a code is for people and may change freely.
///
/// ```
/// use batpak_runtime::gate::DenialCode;
///
/// const OVER_LIMIT: DenialCode = DenialCode::new("over_limit");
/// assert_eq!(OVER_LIMIT.as_str(), "over_limit");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DenialCode(&'static str);

impl DenialCode {
    /// The code a gate gets when it panics instead of answering.
    pub const PANICKED: DenialCode = DenialCode("panicked");

    /// A code with this name. Names are short `snake_case` identifiers by
    /// convention; an empty name is a bug in the caller.
    pub const fn new(name: &'static str) -> Self {
        assert!(!name.is_empty(), "a denial code needs a name");
        Self(name)
    }

    /// The code's name.
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for DenialCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<&str> for DenialCode {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for DenialCode {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

/// A gate's refusal: which gate, a typed code, a message for people and
/// key/value context (the numbers the gate compared, say).
///
/// Gates build one with [`Denial::new`]; the [`GateSet`](super::GateSet) that
/// evaluates the gate fills in [`Denial::gate`] with the gate's name, so a
/// gate never has to repeat it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Denial {
    /// The name of the gate that refused; empty until a `GateSet` stamps it.
    pub gate: &'static str,
    /// The machine-readable reason.
    pub code: DenialCode,
    /// The reason in words.
    pub message: String,
    /// Facts behind the decision, in the order the gate added them.
    pub context: Vec<(String, String)>,
}

impl Denial {
    /// A denial with `code` and `message` and no context yet.
    pub fn new(code: DenialCode, message: impl Into<String>) -> Self {
        Self {
            gate: "",
            code,
            message: message.into(),
            context: Vec::new(),
        }
    }

    /// Adds one fact, such as `("balance", "120")`.
    pub fn with_context(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.context.push((key.into(), value.to_string()));
        self
    }

    /// The value of the first context entry named `key`.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The denial of a gate that panicked, carrying the panic's message when
    /// it was a string.
    pub(crate) fn panicked(gate: &'static str, payload: &(dyn std::any::Any + Send)) -> Self {
        let text = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str));
        let message = match text {
            Some(text) => format!("gate panicked: {text}"),
            None => "gate panicked".to_owned(),
        };
        Self {
            gate,
            ..Self::new(DenialCode::PANICKED, message)
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gate `{}` denied ({}): {}",
            self.gate, self.code, self.message
        )?;
        for (key, value) in &self.context {
            write!(f, "; {key} = {value}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Denial {}
