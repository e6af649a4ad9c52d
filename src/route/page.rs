//! The web console's pages as typed routes: which pages there are, the
//! actions on a connection, the embedded assets, and each page's path
//! segments both ways (`Route::Console` wraps them; `route::page` builds a
//! page's href).

use std::borrow::Cow;

use crate::ids::ConnectionId;

use super::seg;

/// A page of the web console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// `/`: the overview (sign-in when nobody is signed in).
    Home,
    /// `/signin`
    SignIn,
    /// `/signout`
    SignOut,
    /// `/connections`
    Connections,
    /// `/connections/new`: the "+ Add connection" form.
    AddConnection,
    /// `/connections/new-feed`: the "+ Add ICS feed" form.
    AddFeed,
    /// `/connections/progress`: sync progress as JSON (polled by the page).
    Progress,
    /// `/connections/{id}/{action}`
    Connection {
        /// Which connection.
        id: ConnectionId,
        /// What to do with it.
        action: ConnectionAction,
    },
    /// `/calendars`: primary and conflict calendars, privacy.
    Calendars,
    /// `/availability`: the week view, the feed and the CalDAV URLs.
    Availability,
    /// `/availability/feed`: create or rotate the feed token (POST).
    Feed,
    /// `/traffic`: recorded upstream exchanges (admins).
    Traffic,
    /// `/traffic/rows`: table rows newer than a cursor (live updates).
    TrafficRows,
    /// `/traffic/{id}`: one exchange in full.
    TrafficEntry(u64),
    /// `/traffic.har`: the filtered exchanges as a HAR download.
    TrafficHar,
    /// `/status`: the same facts as `calproxy status` and `/metrics`.
    Status,
    /// `/assets/{name}`: embedded style sheet and script.
    Asset(Asset),
}

/// What a connection's page does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionAction {
    /// `sync`: sync now.
    Sync,
    /// `password`: replace the app-specific password.
    Password,
    /// `remove`: confirm and remove.
    Remove,
}

impl ConnectionAction {
    /// The path segment.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionAction::Sync => "sync",
            ConnectionAction::Password => "password",
            ConnectionAction::Remove => "remove",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Sync, Self::Password, Self::Remove]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// An embedded console asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asset {
    /// `console.css`
    Css,
    /// `console.js`
    Js,
}

impl Asset {
    /// The file name.
    pub fn name(self) -> &'static str {
        match self {
            Asset::Css => "console.css",
            Asset::Js => "console.js",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        [Self::Css, Self::Js].into_iter().find(|a| a.name() == s)
    }
}

impl Page {
    pub(super) fn segments(&self) -> Vec<Cow<'_, str>> {
        match self {
            Page::Home => Vec::new(),
            Page::SignIn => vec![seg("signin")],
            Page::SignOut => vec![seg("signout")],
            Page::Connections => vec![seg("connections")],
            Page::AddConnection => vec![seg("connections"), seg("new")],
            Page::AddFeed => vec![seg("connections"), seg("new-feed")],
            Page::Progress => vec![seg("connections"), seg("progress")],
            Page::Connection { id, action } => {
                vec![seg("connections"), seg(id.as_str()), seg(action.as_str())]
            }
            Page::Calendars => vec![seg("calendars")],
            Page::Availability => vec![seg("availability")],
            Page::Feed => vec![seg("availability"), seg("feed")],
            Page::Traffic => vec![seg("traffic")],
            Page::TrafficRows => vec![seg("traffic"), seg("rows")],
            Page::TrafficEntry(id) => vec![seg("traffic"), Cow::Owned(id.to_string())],
            Page::TrafficHar => vec![seg("traffic.har")],
            Page::Status => vec![seg("status")],
            Page::Asset(a) => vec![seg("assets"), seg(a.name())],
        }
    }

    pub(super) fn parse(d: &[&str]) -> Option<Page> {
        Some(match d {
            ["signin"] => Page::SignIn,
            ["signout"] => Page::SignOut,
            ["connections"] => Page::Connections,
            ["connections", "new"] => Page::AddConnection,
            ["connections", "new-feed"] => Page::AddFeed,
            ["connections", "progress"] => Page::Progress,
            ["connections", id, action] => Page::Connection {
                id: ConnectionId::new(*id).ok()?,
                action: ConnectionAction::parse(action)?,
            },
            ["calendars"] => Page::Calendars,
            ["availability"] => Page::Availability,
            ["availability", "feed"] => Page::Feed,
            ["traffic"] => Page::Traffic,
            ["traffic", "rows"] => Page::TrafficRows,
            ["traffic", id] => Page::TrafficEntry(id.parse().ok()?),
            ["traffic.har"] => Page::TrafficHar,
            ["status"] => Page::Status,
            ["assets", name] => Page::Asset(Asset::parse(name)?),
            _ => return None,
        })
    }
}
