//! Firing events: building an event with its Tableau payload, and publishing events so that
//! their deliveries are written in the same transaction and the dispatcher wakes up, or gets
//! the deliveries the transaction leased to it.

use std::{sync::Arc, time::Duration};
use time::OffsetDateTime;
use uuid::Uuid;
use vizhook_core::{Event, EventId, EventKind, Resource, SiteId};

use vizhook_store::{ClaimRequest, Publication, PublishEvent, Published, Store, StoreError};
use vizhook_tableau::payload::encode as tableau_payload;

use crate::handle::DeliveryHandle;

/// Why events could not be published: the store failed, and nothing was written.
#[derive(Debug, thiserror::Error)]
#[error("the events could not be published")]
pub struct PublishError(#[from] pub StoreError);

/// Publishes events for the API: writes them with their deliveries and tells the dispatcher.
#[derive(Debug, Clone)]
pub struct Publisher {
    pub store: Arc<dyn Store>,
    pub handle: DeliveryHandle,
    /// How long deliveries leased by a publishing transaction are the dispatcher's.
    pub lease: Duration,
}

/// An event about `resource_luid` named `resource_name`, happening now on `site`.
pub fn new_event(
    site: SiteId,
    kind: EventKind,
    resource_name: &str,
    resource_luid: &str,
) -> PublishEvent {
    event_at(
        site,
        kind,
        kind.default_resource(),
        resource_name,
        resource_luid,
        OffsetDateTime::now_utc(),
    )
}

/// An event with every field given (label events name their resource; injected events may
/// carry their own time).
pub fn event_at(
    site: SiteId,
    kind: EventKind,
    resource: Resource,
    resource_name: &str,
    resource_luid: &str,
    created_at: OffsetDateTime,
) -> PublishEvent {
    let event = Event {
        // Time-ordered ids keep the outbox indexes append-only.
        id: EventId::from_uuid(Uuid::now_v7()),
        kind,
        resource,
        resource_name: resource_name.to_owned(),
        site_id: site,
        resource_luid: resource_luid.to_owned(),
        created_at,
    };
    let payload = tableau_payload(&event);
    PublishEvent { event, payload }
}

impl Publisher {
    /// Writes events with their deliveries. As many deliveries as the dispatcher has room for
    /// are leased to it by the same transaction and handed over once it commits; it is woken for
    /// the rest.
    pub async fn publish(&self, events: &[PublishEvent]) -> Result<Vec<Published>, PublishError> {
        let Some(reservation) = self.handle.hand_off.reserve(events.len()) else {
            let published = self.store.publish_events(events).await?;
            self.after_publish(&published);
            return Ok(published);
        };
        let now = OffsetDateTime::now_utc();
        let lease = ClaimRequest {
            now,
            lease_until: now + self.lease,
            limit: u32::try_from(reservation.limit()).unwrap_or(u32::MAX),
            exclude: reservation.exclude().to_vec(),
        };
        let Publication { published, leased } = self.store.publish_leasing(events, &lease).await?;
        let handed = leased.len();
        reservation.hand(leased);
        for p in &published {
            tracing::debug!(event = %p.event_id, deliveries = p.deliveries, "event published");
        }
        let written: usize = published.iter().map(|p| p.deliveries as usize).sum();
        if written > handed {
            self.handle.wake();
        }
        Ok(published)
    }

    /// Tells the dispatcher about deliveries a store call wrote together with a change.
    pub fn after_publish(&self, published: &[Published]) {
        for p in published {
            tracing::debug!(event = %p.event_id, deliveries = p.deliveries, "event published");
        }
        if published.iter().any(|p| p.deliveries > 0) {
            self.handle.wake();
        }
    }
}
