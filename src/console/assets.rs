//! The console's style sheet and script, compiled into the binary
//! (nothing is loaded from elsewhere at run time; no build step).

use hyper::header;
use hyper::StatusCode;

use crate::route::Asset;

use super::page::Answer;

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// Serves an embedded asset.
pub fn serve(a: Asset) -> Answer {
    let (ty, body) = match a {
        Asset::Css => ("text/css; charset=utf-8", CSS),
        Asset::Js => ("text/javascript; charset=utf-8", JS),
    };
    let mut answer = Answer::new(StatusCode::OK, ty, body);
    answer.headers.retain(|(n, _)| n != header::CACHE_CONTROL);
    answer.header(header::CACHE_CONTROL, "max-age=300")
}
