//! The typed API: one generic method per operation over any [`EventFamily`].
//! Typed payloads are stored with postcard and flagged as such; the store keeps
//! the shape of every (kind, version) it has seen so JSON readers can render
//! them without the Rust types.

use super::codec::EncodedPayload;
use super::index::IndexEntry;
use super::outbox::Outbox;
use super::replay::{EventSourced, TypedInput};
use super::write::Route;
use super::{
    AppendOptions, AppendReceipt, AppendTicket, BatchAppendItem, CausationRef, Freshness, Outcome,
    ReadWrite, Store, StoreError, VisibilityFence,
};
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
        },
    ))
}

impl BatchAppendItem {
    /// A typed batch item.
    pub fn typed<F: EventFamily>(
        coordinate: Coordinate,
        event: &F,
        options: AppendOptions,
        causation: CausationRef,
    ) -> Result<Self, StoreError> {
        let (kind, payload) = encode_typed(event)?;
        Ok(Self {
            coordinate,
            kind,
            payload,
            options,
            causation,
            system: false,
        })
    }
}

impl Store<ReadWrite> {
    fn typed_item<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
        options: AppendOptions,
    ) -> Result<BatchAppendItem, StoreError> {
        self.shared.schemas.register::<F>();
        BatchAppendItem::typed(coordinate.clone(), event, options, CausationRef::None)
    }

    /// Appends a typed event (kind and version from the value); waits like `append`.
    pub fn append_typed<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
    ) -> Result<AppendReceipt, StoreError> {
        self.submit_typed(coordinate, event)?.wait()
    }

    /// [`Store::append_typed`] with options.
    pub fn append_typed_with_options<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
        options: AppendOptions,
    ) -> Result<AppendReceipt, StoreError> {
        let item = self.typed_item(coordinate, event, options)?;
        self.enqueue_one(item, None, Route::Plain)?.wait()
    }

    /// Appends a typed reaction.
    pub fn append_reaction_typed<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
        correlation_id: u128,
        causation_id: u128,
    ) -> Result<AppendReceipt, StoreError> {
        let item = self.typed_item(coordinate, event, AppendOptions::new())?;
        self.enqueue_one(item, Some((correlation_id, causation_id)), Route::Plain)?
            .wait()
    }

    /// Enqueues a typed event and returns its ticket.
    pub fn submit_typed<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
    ) -> Result<AppendTicket, StoreError> {
        let item = self.typed_item(coordinate, event, AppendOptions::new())?;
        self.enqueue_one(item, None, Route::Plain)
    }

    /// [`Store::submit_typed`] unless the writer is under pressure.
    pub fn try_submit_typed<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
    ) -> Result<Outcome<AppendTicket>, StoreError> {
        let item = self.typed_item(coordinate, event, AppendOptions::new())?;
        if let Some(retry) = self.pressure_gate()? {
            return Ok(retry);
        }
        self.enqueue_one(item, None, Route::Plain).map(Outcome::Ok)
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
        causation: CausationRef,
    ) -> Result<(), StoreError> {
        self.register::<F>();
        self.push_item(BatchAppendItem::typed(
            coordinate, event, options, causation,
        )?);
        Ok(())
    }
}

impl VisibilityFence<'_> {
    /// Enqueues a typed fenced append.
    pub fn submit_typed<F: EventFamily>(
        &self,
        coordinate: &Coordinate,
        event: &F,
    ) -> Result<AppendTicket, StoreError> {
        let item = self
            .store()
            .typed_item(coordinate, event, AppendOptions::new())?;
        self.store().enqueue_one(item, None, Route::Fenced)
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

    /// The event with this id decoded as family `F`, if it is visible.
    pub fn get_typed<F: EventFamily>(
        &self,
        event_id: u128,
    ) -> Result<Option<(EventMeta, F)>, StoreError> {
        Ok(self.get_as::<TypedInput<F>>(event_id)?.map(|e| {
            let meta = EventMeta {
                header: e.header,
                coordinate: e.coordinate,
            };
            (meta, e.payload)
        }))
    }

    /// The entity's events of family `F`, decoded, in order.
    pub fn read_typed<F: EventFamily>(
        &self,
        entity: &str,
    ) -> Result<Vec<TypedRead<F>>, StoreError> {
        let kinds = F::kinds();
        Ok(self
            .stream(entity)
            .into_iter()
            .filter(|e| kinds.contains(&e.kind))
            .map(|e| {
                let event = self.read_entry::<TypedInput<F>>(&e)?;
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
