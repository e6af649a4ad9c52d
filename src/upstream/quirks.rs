//! Every iCloud workaround, one named function each, tagged `QUIRK(iCloud)`
//! with its ICLOUD.md section. Each has a test below or in the parser's
//! tests (`upstream/parse/tests.rs`), and the sim reproduces it
//! (`sim::quirks`).

use std::time::Duration;

use crate::dav::{MultiStatus, Precondition, Response};
use crate::ids::Href;

/// iCloud's CalDAV entry point (ICLOUD.md §1.1).
pub const ICLOUD: &str = "https://caldav.icloud.com";

/// iCloud's entry point for China-mainland accounts (ICLOUD.md §1.2).
pub const ICLOUD_CN: &str = "https://caldav.icloud.com.cn";

/// Where an Apple ID's iCloud lives.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
pub enum Region {
    /// `caldav.icloud.com`.
    Global,
    /// China mainland: `caldav.icloud.com.cn`.
    Cn,
}

/// QUIRK(iCloud): ICLOUD.md §1.2 — China-mainland accounts live on
/// `caldav.icloud.com.cn` (tsdav#238). The entry point for an Apple ID: the
/// region given, else the one its domain tells (`@icloud.com.cn`), else
/// the global one.
pub fn icloud_entry(apple_id: &str, region: Option<Region>) -> &'static str {
    let china_domain = apple_id
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.trim().eq_ignore_ascii_case("icloud.com.cn"));
    match region {
        Some(Region::Cn) => ICLOUD_CN,
        Some(Region::Global) => ICLOUD,
        None if china_domain => ICLOUD_CN,
        None => ICLOUD,
    }
}

/// QUIRK(iCloud): ICLOUD.md §1.1 — PROPFIND on the principal may answer with
/// `<href>/principal/</href>` instead of the URL asked for; use the single
/// response whatever its href.
pub fn any_response(ms: &MultiStatus) -> impl Iterator<Item = &Response> {
    ms.responses.iter()
}

/// QUIRK(iCloud): ICLOUD.md §1.2 — hrefs are absolute paths, except the
/// calendar-home-set which is a full URL on a partition host. Reduce any
/// href to its path so they compare.
pub fn path_of(href: &Href) -> Href {
    let s = href.as_str().trim();
    match s.find("://") {
        Some(i) => {
            let rest = &s[i + 3..];
            Href::new(rest.find('/').map_or("/", |j| &rest[j..]))
        }
        None => Href::new(s),
    }
}

/// QUIRK(iCloud): ICLOUD.md §3.1, §3.3 — calendar-query and sync-collection
/// answers include a row for the collection itself; it is not a member.
/// An empty href is the request URL itself (RFC 3986 §5.2.2).
pub fn same_collection(href: &Href, collection: &Href) -> bool {
    let a = path_of(href);
    let b = path_of(collection);
    a.as_str().is_empty() || a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/')
}

/// QUIRK(iCloud): ICLOUD.md §3.3 — the same href may appear more than once
/// in one sync response; keep the last row for each (rows of any shape:
/// `href` names a row's href).
pub fn dedupe_by_href<T>(rows: &[T], href: impl Fn(&T) -> &Href) -> Vec<&T> {
    let mut seen = std::collections::HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        seen.insert(path_of(href(r)), i);
    }
    let mut keep: Vec<usize> = seen.into_values().collect();
    keep.sort_unstable();
    keep.into_iter().filter_map(|i| rows.get(i)).collect()
}

/// QUIRK(iCloud): ICLOUD.md §3.3 — an invalid or expired sync token comes
/// back as 403 with `valid-sync-token`, as a bare 403, or (other servers)
/// 409/410. With a non-empty token, any of these means "start over".
pub fn sync_token_refused(
    status: u16,
    precondition: Option<&Precondition>,
    had_token: bool,
) -> bool {
    match status {
        410 => true,
        403 | 409 | 400 => had_token || matches!(precondition, Some(Precondition::ValidSyncToken)),
        _ => false,
    }
}

/// QUIRK(iCloud): ICLOUD.md §5.2 — 503 (and, unseen but possible, 429)
/// with `Retry-After` in seconds (or an HTTP date, read as 60 s).
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    match v.parse::<u64>() {
        Ok(secs) => Some(Duration::from_secs(secs.min(3600))),
        Err(_) if !v.is_empty() => Some(Duration::from_secs(60)),
        Err(_) => None,
    }
}

/// ICLOUD.md §1.4 — app-specific passwords look like `xxxx-xxxx-xxxx-xxxx`
/// (lowercase letters). Anything else is probably the main Apple ID
/// password, which iCloud refuses with 401.
pub fn looks_app_specific(password: &str) -> bool {
    let parts: Vec<&str> = password.split('-').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icloud_china_accounts_use_the_cn_entry_point() {
        assert_eq!(icloud_entry("ann@icloud.com", None), ICLOUD);
        assert_eq!(icloud_entry("ann@icloud.com.cn", None), ICLOUD_CN);
        assert_eq!(icloud_entry("ann@ICLOUD.COM.CN", None), ICLOUD_CN);
        assert_eq!(icloud_entry("ann@example.cn", Some(Region::Cn)), ICLOUD_CN);
        assert_eq!(
            icloud_entry("ann@icloud.com.cn", Some(Region::Global)),
            ICLOUD
        );
        assert_eq!(icloud_entry("ann@example.com", None), ICLOUD);
    }

    #[test]
    fn icloud_partition_home_url_reduces_to_path() {
        let h = Href::new("https://p42-caldav.icloud.com:443/123/calendars/");
        assert_eq!(path_of(&h).as_str(), "/123/calendars/");
        assert_eq!(path_of(&Href::new("/a/b/")).as_str(), "/a/b/");
    }

    #[test]
    fn icloud_collection_self_row_is_recognised() {
        let c = Href::new("/1/calendars/home/");
        assert!(same_collection(&Href::new("/1/calendars/home"), &c));
        assert!(!same_collection(&Href::new("/1/calendars/home/a.ics"), &c));
    }

    #[test]
    fn icloud_bare_403_with_a_token_means_start_over() {
        assert!(sync_token_refused(403, None, true));
        assert!(!sync_token_refused(403, None, false));
        assert!(sync_token_refused(
            403,
            Some(&Precondition::ValidSyncToken),
            false
        ));
        assert!(sync_token_refused(410, None, false));
        assert!(!sync_token_refused(500, None, true));
    }

    #[test]
    fn icloud_retry_after_seconds_and_dates() {
        assert_eq!(retry_after(Some("5")), Some(Duration::from_secs(5)));
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2026 07:28:00 GMT")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after(None), None);
    }

    #[test]
    fn app_specific_password_shape() {
        assert!(looks_app_specific("abcd-efgh-ijkl-mnop"));
        assert!(!looks_app_specific("Hunter2!"));
        assert!(!looks_app_specific("abcd-efgh-ijkl"));
    }
}
