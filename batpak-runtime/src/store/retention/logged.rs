//! Retention policies kept in the log: `Store::set_retention_policies`
//! records the whole set as one library system event
//! ([`system::RETENTION_POLICY`]) on `$batpak:retention-policies` (scope
//! `$batpak`); the latest record holds. They travel with backups and
//! exports, so every process that compacts the store, and every replica,
//! applies the same ones; `StoreConfig::with_retention_policy` adds
//! policies of the process on top.

use crate::coordinate::{Coordinate, EntityFilter, Region, RESERVED_PREFIX};
use crate::event::system;
use crate::store::error::{CorruptionKind, StoreError};
use crate::store::log::frame::Frame;
use crate::store::write::Route;
use crate::store::{AppendReceipt, BatchAppendItem, ReadWrite, RetentionPolicy, Store};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The entity the logged policies live on.
pub(crate) fn policies_entity() -> String {
    format!("{RESERVED_PREFIX}:retention-policies")
}

/// Which entities a logged policy selects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Names {
    Any,
    Exact(String),
    Prefix(String),
    Under(String),
}

/// One policy as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LoggedPolicy {
    entity: Names,
    scope: Option<String>,
    max_age_us: Option<u64>,
    max_count: Option<u64>,
}

/// The payload: the whole set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LoggedPolicies {
    policies: Vec<LoggedPolicy>,
}

impl LoggedPolicy {
    fn of(policy: &RetentionPolicy) -> Self {
        let entity = match &policy.region.entity {
            EntityFilter::Any => Names::Any,
            EntityFilter::Exact(n) => Names::Exact(n.to_string()),
            EntityFilter::Prefix(n) => Names::Prefix(n.to_string()),
            EntityFilter::Under(n) => Names::Under(n.to_string()),
        };
        Self {
            entity,
            scope: policy.region.scope.as_deref().map(str::to_owned),
            max_age_us: policy
                .max_age
                .map(|d| d.as_micros().min(u128::from(u64::MAX)) as u64),
            max_count: policy.max_count,
        }
    }

    fn policy(&self) -> RetentionPolicy {
        let mut region = match &self.entity {
            Names::Any => Region::all(),
            Names::Exact(n) => Region::entity(n),
            Names::Prefix(n) => Region::entity_prefix(n),
            Names::Under(n) => Region::entity_under(n),
        };
        if let Some(scope) = &self.scope {
            region.scope = Some(scope.as_str().into());
        }
        RetentionPolicy {
            region,
            max_age: self.max_age_us.map(Duration::from_micros),
            max_count: self.max_count,
        }
    }
}

impl<M> Store<M> {
    /// The retention policies recorded in the log (the latest
    /// [`set_retention_policies`](Store::set_retention_policies)), without
    /// those of `StoreConfig`.
    pub fn logged_retention_policies(&self) -> Result<Vec<RetentionPolicy>, StoreError> {
        let Some(last) = self.stream(&policies_entity()).pop() else {
            return Ok(Vec::new());
        };
        let at = last.frame;
        let bad = StoreError::Corrupt {
            at,
            kind: CorruptionKind::BadBody,
        };
        let parsed = self.shared.files.with_frame(at, |frame| match frame {
            Frame::Event(ev) => serde_json::from_slice::<LoggedPolicies>(ev.payload).ok(),
            _ => None,
        })?;
        let logged = parsed.ok_or(bad)?;
        Ok(logged.policies.iter().map(LoggedPolicy::policy).collect())
    }

    /// Every retention policy `compact` applies: the logged ones, then those
    /// of `StoreConfig`.
    pub fn retention_policies(&self) -> Result<Vec<RetentionPolicy>, StoreError> {
        let mut all = self.logged_retention_policies()?;
        all.extend(self.shared.config.retention.iter().cloned());
        Ok(all)
    }
}

impl Store<ReadWrite> {
    /// Records `policies` in the log as the store's retention policies,
    /// replacing the set recorded before (an empty slice clears it). The
    /// record is synced before this returns. A policy that filters kinds,
    /// or keeps zero events, is refused with `InvalidRetention`.
    pub fn set_retention_policies(
        &self,
        policies: &[RetentionPolicy],
    ) -> Result<AppendReceipt, StoreError> {
        if let Some(problem) = policies.iter().find_map(RetentionPolicy::problem) {
            return Err(StoreError::InvalidRetention {
                entity: "(policy)".to_owned(),
                reason: problem,
            });
        }
        let payload = LoggedPolicies {
            policies: policies.iter().map(LoggedPolicy::of).collect(),
        };
        let coordinate = Coordinate::new(policies_entity(), crate::store::ledger::SYSTEM_SCOPE)?;
        let item = BatchAppendItem::system(coordinate, system::RETENTION_POLICY, &payload)?;
        let receipt = self.append_one(item, Route::Plain)?;
        self.sync()?;
        Ok(receipt)
    }
}
