//! Wake-ups between nodes: a write that makes deliveries or tasks due calls `pg_notify` on its
//! channel inside its transaction (so the notice goes out when, and only if, it commits), and
//! one listening connection per process wakes the workers that registered. After the listening
//! connection is lost and regained, every worker is woken once, since notices sent meanwhile
//! are gone; the workers' poll covers the gap while it is down.

use std::{
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use sqlx::{PgConnection, PgPool, postgres::PgListener};
use vizhook_store::{StoreResult, Wake};

use crate::convert::db_error;

/// The channels of one database schema and the workers waiting on them.
pub(crate) struct Wakes {
    pub(crate) outbox_channel: String,
    pub(crate) inbox_channel: String,
    outbox: Mutex<Vec<Wake>>,
    inbox: Mutex<Vec<Wake>>,
}

impl std::fmt::Debug for Wakes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakes")
            .field("outbox_channel", &self.outbox_channel)
            .field("inbox_channel", &self.inbox_channel)
            .finish_non_exhaustive()
    }
}

/// A channel name for `schema`, within PostgreSQL's 63-byte identifier limit.
fn channel(schema: &str, what: &str) -> String {
    let mut name = format!("vizhook_{what}_{schema}");
    while name.len() > 63 {
        name.pop();
    }
    name
}

impl Wakes {
    /// Starts listening on `schema`'s channels with a connection of `pool`'s server. The
    /// listener stops when the store (every clone) is dropped.
    pub(crate) fn start(pool: &PgPool, schema: &str) -> Arc<Self> {
        let wakes = Arc::new(Self {
            outbox_channel: channel(schema, "outbox"),
            inbox_channel: channel(schema, "inbox"),
            outbox: Mutex::default(),
            inbox: Mutex::default(),
        });
        tokio::spawn(listen(pool.clone(), Arc::downgrade(&wakes)));
        wakes
    }

    pub(crate) fn on_outbox(&self, wake: Wake) {
        self.outbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(wake);
    }

    pub(crate) fn on_inbox(&self, wake: Wake) {
        self.inbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(wake);
    }

    fn wake(list: &Mutex<Vec<Wake>>) {
        for wake in list.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            wake();
        }
    }

    fn wake_all(&self) {
        Self::wake(&self.outbox);
        Self::wake(&self.inbox);
    }
}

/// Notifies `channel` when the current transaction commits.
pub(crate) async fn notify(conn: &mut PgConnection, channel: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

async fn listen(pool: PgPool, wakes: Weak<Wakes>) {
    let mut listener: Option<PgListener> = None;
    loop {
        let Some(strong) = wakes.upgrade() else {
            return;
        };
        if pool.is_closed() {
            return;
        }
        let active = match listener.as_mut() {
            Some(active) => active,
            None => match subscribe(&pool, &strong).await {
                Ok(new) => {
                    // Notices sent while no one listened are lost: look once.
                    strong.wake_all();
                    listener.insert(new)
                }
                Err(error) => {
                    tracing::debug!(%error, "cannot listen for other nodes' work; retrying");
                    drop(strong);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        drop(strong);
        // Wake up now and then to notice that the store was dropped.
        match tokio::time::timeout(Duration::from_secs(1), active.try_recv()).await {
            Err(_elapsed) => {}
            Ok(Ok(Some(notice))) => {
                let Some(strong) = wakes.upgrade() else {
                    return;
                };
                if notice.channel() == strong.outbox_channel {
                    Wakes::wake(&strong.outbox);
                } else if notice.channel() == strong.inbox_channel {
                    Wakes::wake(&strong.inbox);
                }
            }
            // The connection was lost (`None`) or failed: reconnect from the top.
            Ok(Ok(None)) | Ok(Err(_)) => listener = None,
        }
    }
}

async fn subscribe(pool: &PgPool, wakes: &Wakes) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([wakes.outbox_channel.as_str(), wakes.inbox_channel.as_str()])
        .await?;
    Ok(listener)
}
