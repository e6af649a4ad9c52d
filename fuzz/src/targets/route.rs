//! Target `route`: request paths through `Route::parse_request` for the
//! methods that reach different routes (GET and POST reach the console at
//! `/`, DAV methods the DAV root).
//!
//! Input: the path as text (invalid UTF-8 is not a path hyper delivers).
//! Asserted: a route that parses builds an href that parses back to the
//! same route (`Route::href` is what every multistatus and redirect
//! carries, so a route whose href leads elsewhere answers with a link to
//! some other resource), and the href is ASCII without spaces.

use calproxy::handlers;
use calproxy::route::Route;
use http::Method;

/// The route target (see the module docs).
pub fn route(data: &[u8]) {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let propfind = Method::from_bytes(b"PROPFIND").ok();
    for method in [Some(Method::GET), Some(Method::POST), propfind]
        .into_iter()
        .flatten()
    {
        let Some(route) = Route::parse_request(path, &method) else {
            continue;
        };
        let _ = (route.kind(), route.access(), route.owner());
        let _ = handlers::needs(&route, &method);
        let href = route.href();
        let text = href.as_str();
        assert!(
            text.bytes().all(|b| b.is_ascii_graphic()),
            "href {text:?} of {route:?} is not a URL path"
        );
        let back = Route::parse_request(text, &method);
        assert_eq!(
            back.as_ref(),
            Some(&route),
            "{path:?} parsed to {route:?}, whose href {text:?} parses to {back:?}"
        );
    }
}
