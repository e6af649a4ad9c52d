//! Discovery: current-user-principal → calendar-home-set → calendar list
//! (RFC 6764 §6 minus DNS; ICLOUD.md §1: skip well-known, start at `/`).

use crate::ids::Href;

use super::{parse, requests, Client, RemoteCalendar, Result};

/// What discovery found.
#[derive(Debug, Clone, PartialEq)]
pub struct Discovery {
    /// The principal path.
    pub principal: Href,
    /// The calendar home as a full URL (iCloud: on a partition host, §1.2).
    pub home_url: String,
    /// The calendars in the home, subscribed and reminders included (R6 says why not).
    pub calendars: Vec<RemoteCalendar>,
}

/// Runs discovery from the client's base URL: three requests.
pub async fn discover(client: &Client) -> Result<Discovery> {
    let root = client.base().path().to_string();
    let root = if root.is_empty() {
        "/".to_string()
    } else {
        root
    };
    let ms = client
        .send(&requests::current_user_principal(&root))
        .await?
        .multistatus()?;
    let principal = parse::principal(&ms)?;
    let ms = client
        .send(&requests::calendar_home_set(principal.as_str()))
        .await?
        .multistatus()?;
    let home = parse::home_set(&ms)?;
    let home_url = client.resolve(home.as_str())?.to_string();
    let calendars = list_calendars(client, &home_url).await?;
    Ok(Discovery {
        principal: super::quirks::path_of(&principal),
        home_url,
        calendars,
    })
}

/// One home listing (Depth 1): the calendars with their ctags. This is the
/// one request per connection per idle sync tick.
pub async fn list_calendars(client: &Client, home_url: &str) -> Result<Vec<RemoteCalendar>> {
    let ms = client
        .send(&requests::home_listing(home_url))
        .await?
        .multistatus()?;
    Ok(parse::calendars(&ms, &Href::new(home_url)))
}
