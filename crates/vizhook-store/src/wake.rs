//! `Wake`: how a backend shared by several processes tells this one's workers that another
//! made work due (`Outbox::on_remote_deliveries`, `Inbox::on_remote_tasks`).

use std::sync::Arc;

/// Called when another process sharing the database may have made work due.
pub type Wake = Arc<dyn Fn() + Send + Sync>;
