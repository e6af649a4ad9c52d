//! Unit tests of `sim::handler`.
use super::*;

#[test]
fn routes() {
    assert_eq!(route("1", "/"), Route::Root);
    assert_eq!(route("1", "/1/principal/"), Route::Principal);
    assert_eq!(route("1", "/1/calendars/"), Route::Home);
    assert_eq!(route("1", "/1/calendars/home/"), Route::Calendar("home"));
    assert_eq!(route("1", "/1/calendars/home"), Route::Calendar("home"));
    assert_eq!(
        route("1", "/1/calendars/home/a.ics"),
        Route::Object("home", "a.ics")
    );
    assert_eq!(route("1", "/2/calendars/"), Route::Unknown);
    assert_eq!(route("1", "/1/calendarsx/"), Route::Unknown);
}

#[test]
fn if_match_compares_unquoted() {
    assert!(!if_match_fails(None, None));
    assert!(if_match_fails(Some("\"a\""), None));
    assert!(!if_match_fails(Some("\"a\""), Some("a")));
    assert!(if_match_fails(Some("\"b\""), Some("a")));
    assert!(!if_match_fails(Some("*"), Some("a")));
}
