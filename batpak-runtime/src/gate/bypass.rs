//! [`Bypass`]: an explicit, reasoned decision to let a proposal through without
//! asking its gates. A bypass cannot be made without a reason, and the
//! pipeline records it in the log before it hands out a receipt, so every
//! override leaves a trace an auditor can find.

use std::fmt;

/// The longest bypass reason accepted, in bytes of UTF-8.
pub const BYPASS_REASON_BYTES_MAX: usize = 4096;

/// Why [`Bypass::new`] refused a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BypassError {
    /// The reason is empty or only whitespace.
    EmptyReason,
    /// The reason exceeds [`BYPASS_REASON_BYTES_MAX`].
    ReasonTooLong {
        /// The reason's length in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for BypassError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyReason => f.write_str("a bypass needs a reason, found none"),
            Self::ReasonTooLong { bytes, max } => {
                write!(f, "bypass reason is {bytes} bytes, expected at most {max}")
            }
        }
    }
}

impl std::error::Error for BypassError {}

/// Permission to skip a pipeline's gates, with the reason why.
///
/// Hand it to [`Pipeline::bypass`](super::Pipeline::bypass), which records a
/// `BYPASS` system event carrying the reason and only then returns a receipt.
/// It is spent by that call and cannot be copied: one bypass, one write.
#[derive(Debug, PartialEq, Eq)]
pub struct Bypass {
    reason: String,
}

impl Bypass {
    /// A bypass for `reason`, which must say something (not empty, not only
    /// whitespace) in at most [`BYPASS_REASON_BYTES_MAX`] bytes.
    pub fn new(reason: impl Into<String>) -> Result<Self, BypassError> {
        let reason = reason.into();
        if reason.trim().is_empty() {
            return Err(BypassError::EmptyReason);
        }
        if reason.len() > BYPASS_REASON_BYTES_MAX {
            return Err(BypassError::ReasonTooLong {
                bytes: reason.len(),
                max: BYPASS_REASON_BYTES_MAX,
            });
        }
        Ok(Self { reason })
    }

    /// The reason given.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}
