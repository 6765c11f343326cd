//! `Action`: one compiled action, as `build.rs` makes it and `run.rs` runs it.

use url::Url;

use super::{
    local::{CommandAction, FileAction},
    remote::{HttpAction, XAction},
    templates::Tpl,
};

/// One compiled action.
pub(super) enum Action {
    Slack {
        url: Url,
        text: Option<Tpl>,
    },
    Teams {
        url: Url,
        text: Option<Tpl>,
    },
    Email {
        to: Vec<String>,
        subject: Tpl,
        body: Tpl,
    },
    Http(HttpAction),
    X(XAction),
    Command(CommandAction),
    File(FileAction),
}

impl Action {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::Slack { .. } => "slack",
            Self::Teams { .. } => "teams",
            Self::Email { .. } => "email",
            Self::Http(_) => "http",
            Self::X(_) => "x",
            Self::Command(_) => "command",
            Self::File(_) => "file",
        }
    }
}
