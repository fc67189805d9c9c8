//! A test kit: given/when/then for aggregates without a store
//! ([`AggregateTest`]), a store in a temporary directory that removes itself
//! ([`TempStore`]), and events with metadata built in one line
//! ([`EventBuilder`]) for testing projections and `Apply` handlers.
//!
//! ```text
//! AggregateTest::<Cart>::given([CartEvent::Opened { .. }])
//!     .when(AddItem { sku: "apple".into(), qty: 2 })
//!     .then([CartEvent::ItemAdded { sku: "apple".into(), qty: 2 }]);
//! ```

mod build;
mod temp;

pub use build::EventBuilder;
pub use temp::TempStore;

use crate::aggregate::Aggregate;
use std::fmt::Debug;

/// Given some events, when a command, then some events or an error: an
/// aggregate's decisions checked without a store. Every `then*` panics with
/// both sides printed when the expectation fails, as `assert_eq!` does.
#[derive(Debug)]
pub struct AggregateTest<A> {
    state: A,
}

impl<A: Aggregate> AggregateTest<A> {
    /// The aggregate after folding `events` in order.
    pub fn given(events: impl IntoIterator<Item = A::Event>) -> Self {
        let mut state = A::default();
        for event in events {
            state.apply(&event);
        }
        Self { state }
    }

    /// The aggregate of an entity without events.
    pub fn given_nothing() -> Self {
        Self::given([])
    }

    /// Lets the aggregate decide `command`.
    pub fn when(self, command: impl Into<A::Command>) -> Decided<A> {
        let result = self.state.handle(&command.into());
        Decided {
            state: self.state,
            result,
        }
    }

    /// The state the given events folded into.
    pub fn state(&self) -> &A {
        &self.state
    }
}

/// What the aggregate decided; see [`AggregateTest`].
#[derive(Debug)]
pub struct Decided<A: Aggregate> {
    state: A,
    result: Result<Vec<A::Event>, A::Error>,
}

impl<A: Aggregate> Decided<A>
where
    A::Event: PartialEq + Debug,
    A::Error: Debug,
{
    /// Asserts the command produced exactly `expected`, in order; returns
    /// the state with them applied, for further checks.
    #[track_caller]
    pub fn then(self, expected: impl IntoIterator<Item = A::Event>) -> A {
        let expected: Vec<A::Event> = expected.into_iter().collect();
        match self.result {
            Ok(events) => {
                assert_eq!(events, expected, "the command decided other events");
                let mut state = self.state;
                for event in &events {
                    state.apply(event);
                }
                state
            }
            Err(e) => panic!("the command was refused with {e:?}; expected events {expected:?}"),
        }
    }

    /// Asserts the command was refused, and returns the error.
    #[track_caller]
    pub fn then_error(self) -> A::Error {
        match self.result {
            Ok(events) => panic!("the command decided {events:?}; expected a refusal"),
            Err(e) => e,
        }
    }

    /// Asserts the command was refused with exactly `expected`.
    #[track_caller]
    pub fn then_error_eq(self, expected: A::Error)
    where
        A::Error: PartialEq,
    {
        let error = self.then_error();
        assert_eq!(
            error, expected,
            "the command was refused for another reason"
        );
    }
}
