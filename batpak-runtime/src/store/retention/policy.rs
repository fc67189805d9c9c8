//! Applying retention policies ([`RetentionPolicy`], set with
//! `StoreConfig::with_retention_policy`): [`Store::compact`] applies them
//! first (recording each cut like `truncate_before` does), then removes the
//! cut bytes.

use super::{plan_cut, Planned, RetentionCut};
use crate::coordinate::RESERVED_PREFIX;
use crate::store::index::Index;
use crate::store::log::reader::SegmentFiles;
use crate::store::{ReadWrite, RetentionPolicy, Store, StoreError};

/// What every policy cuts now, at most one cut per entity (the furthest).
pub(crate) fn plan(
    policies: &[RetentionPolicy],
    index: &Index,
    files: &SegmentFiles,
    now_us: u64,
) -> Result<Vec<Planned>, StoreError> {
    let mut out = Vec::new();
    if policies.is_empty() {
        return Ok(out);
    }
    for (id, entity) in index.entity_names() {
        if entity.starts_with(RESERVED_PREFIX) {
            continue;
        }
        let scope = index.scope_of_entity(id).unwrap_or_default();
        let tip = index.entity_tip(entity);
        let mut reason = None;
        let mut before = 1;
        for policy in policies {
            if !policy.region.matches_names(entity, scope) {
                continue;
            }
            let keeps_from = policy.keeps_from(index, entity, tip, now_us);
            if keeps_from > before {
                before = keeps_from;
                reason = Some(policy);
            }
        }
        let Some(policy) = reason else { continue };
        if index.floor(id).is_some_and(|f| f.tombstone) {
            continue;
        }
        if let Some(mut planned) = plan_cut(index, files, entity, before, false)? {
            planned.reason = describe(policy);
            out.push(planned);
        }
    }
    Ok(out)
}

fn describe(policy: &RetentionPolicy) -> String {
    let mut parts = vec![format!("policy {:?}", policy.region.entity)];
    if let Some(scope) = &policy.region.scope {
        parts.push(format!("scope {scope}"));
    }
    if let Some(age) = policy.max_age {
        parts.push(format!("max_age {}s", age.as_secs_f64()));
    }
    if let Some(count) = policy.max_count {
        parts.push(format!("max_count {count}"));
    }
    parts.join(", ")
}

impl Store<ReadWrite> {
    /// Applies the configured retention policies now (recording each cut),
    /// without compacting; [`Store::compact`] calls it first. Returns the
    /// cuts made. A replica applies none of its own: its primary's cuts
    /// reach it as records.
    pub fn apply_retention(&self) -> Result<Vec<RetentionCut>, StoreError> {
        if self
            .shared
            .replica
            .load(std::sync::atomic::Ordering::Acquire)
        {
            // A replica's cuts are its primary's: they arrive as records.
            return Ok(Vec::new());
        }
        let config = &self.shared.config;
        let policies = self.retention_policies()?;
        if let Some(problem) = policies.iter().find_map(RetentionPolicy::problem) {
            return Err(StoreError::InvalidRetention {
                entity: "(policy)".to_owned(),
                reason: problem,
            });
        }
        let planned = {
            let index = crate::store::locking::read(&self.shared.index);
            let now = config.clock.now_us();
            plan(&policies, &index, &self.shared.files, now)?
        };
        if planned.is_empty() {
            return Ok(Vec::new());
        }
        self.record_cuts(planned)
    }
}
