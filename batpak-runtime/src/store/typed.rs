//! The typed API: one generic method per operation over any [`EventFamily`].
//! Typed payloads are stored with postcard and flagged as such; the store keeps
//! the shape of every (kind, version) it has seen so JSON readers can render
//! them without the Rust types.

use super::codec::EncodedPayload;
use super::index::IndexEntry;
use super::outbox::Outbox;
use super::registry::FamilyCheck;
use super::replay::{EventSourced, TypedInput};
use super::Freshness;
use super::{AppendOptions, AppendReceipt, BatchAppendItem, ReadWrite, Store, StoreError};
use crate::coordinate::Coordinate;
use crate::event::{Codec, EventKind, EventMeta};
use crate::schema::{EventFamily, SchemaError};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Encodes a typed event, refusing retired kinds and reserved categories.
pub(crate) fn encode_typed<F: EventFamily>(
    event: &F,
) -> Result<(EventKind, EncodedPayload), StoreError> {
    let kind = event.kind();
    super::options::check_public_kind(kind)?;
    let info = F::kind_info(kind).ok_or(StoreError::Schema(SchemaError::UnknownKind {
        family: F::NAME,
        kind,
    }))?;
    if info.retired {
        return Err(StoreError::RetiredKind { kind });
    }
    let bytes = event.encode_fields().map_err(StoreError::Schema)?;
    let shape = crate::schema::family_shapes::<F>()
        .get(&(kind.raw(), info.version))
        .cloned();
    Ok((
        kind,
        EncodedPayload {
            codec: Codec::Postcard,
            schema_version: info.version,
            bytes,
            shape,
            family: Some(FamilyCheck::of::<F>()),
            subject: None,
        },
    ))
}

impl BatchAppendItem {
    /// A typed item (kind and version from the value), for batches, fences,
    /// outboxes or a single [`Store::append_item`].
    pub fn typed<F: EventFamily>(
        coordinate: Coordinate,
        event: &F,
        options: AppendOptions,
    ) -> Result<Self, StoreError> {
        super::options::check_public_coordinate(&coordinate)?;
        let (kind, mut payload) = encode_typed(event)?;
        if payload.shape.as_ref().is_some_and(|s| s.personal) {
            let subject = event.subject();
            let subject = subject.as_deref().unwrap_or(coordinate.entity());
            payload.subject = Some(subject.into());
        }
        Ok(Self {
            coordinate,
            kind,
            payload,
            options,
            system: false,
        })
    }
}

impl Store<ReadWrite> {
    /// Appends a typed event (kind and version from the value) and waits like
    /// [`Store::append`]. For options, causation or a ticket, build the item
    /// with [`BatchAppendItem::typed`] and use [`Store::append_item`] or
    /// [`Store::submit_item`].
    pub fn append_typed<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
    ) -> Result<AppendReceipt, StoreError> {
        self.register_family::<F>();
        let item = BatchAppendItem::typed(coordinate.clone(), event, AppendOptions::new())?;
        self.append_item(item)
    }

    /// Learns family `F`'s shapes so JSON readers can render its payloads
    /// (typed appends do this on their own).
    pub fn register_family<F: EventFamily>(&self) {
        self.shared.schemas.register::<F>();
    }
}

impl Outbox<'_> {
    /// Stages a typed event.
    pub fn stage_typed<F: EventFamily>(
        &mut self,
        coordinate: Coordinate,
        event: &F,
        options: AppendOptions,
    ) -> Result<(), StoreError> {
        self.register::<F>();
        self.push_item(BatchAppendItem::typed(coordinate, event, options)?);
        Ok(())
    }
}

/// One decoded event of a typed read: its metadata and value, or why it did
/// not decode (another shape in the ledger, a version no chain reaches).
pub type TypedRead<F> = Result<(EventMeta, F), StoreError>;

impl<M> Store<M> {
    /// Every visible event of family `F`'s kinds, in commit order. For one
    /// variant, use `by_fact` with its kind constant.
    pub fn by_fact_typed<F: EventFamily>(&self) -> Vec<IndexEntry> {
        let mut region = crate::coordinate::Region::all();
        for kind in F::kinds() {
            region = region.with_kind(kind);
        }
        self.query(&region)
    }

    /// The entity's events of family `F`, decoded, in order. Events of kinds
    /// the log's ledger gives to `F` but `F` no longer declares are not
    /// skipped: they come back as errors naming the schema rule.
    pub fn read_typed<F: EventFamily>(
        &self,
        entity: &str,
    ) -> Result<Vec<TypedRead<F>>, StoreError> {
        let kinds = F::kinds();
        let ours = |kind: EventKind| {
            kinds.contains(&kind)
                || self.shared.schemas.logged_family(kind).as_deref() == Some(F::NAME)
        };
        let mut entries = self.stream(entity);
        entries.retain(|e| ours(e.kind));
        Ok(entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                self.prefetch_frame_ahead(&entries, i);
                let event = self.read_entry::<TypedInput<F>>(e)?;
                let meta = EventMeta {
                    header: event.header,
                    coordinate: event.coordinate,
                };
                Ok((meta, event.payload))
            })
            .collect())
    }

    /// [`Store::project`] with `Freshness::Consistent`, for derived projections.
    pub fn project_typed<P>(&self, entity: &str) -> Result<Option<P>, StoreError>
    where
        P: EventSourced + Serialize + DeserializeOwned,
    {
        self.project::<P>(entity, &Freshness::Consistent)
    }
}
