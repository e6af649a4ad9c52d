//! HAR 1.2 export of recorded exchanges (the format browsers' devtools
//! import). Entries were redacted when they were recorded.

use serde_json::{json, Value};

use super::Entry;

fn headers(h: &[(String, String)]) -> Value {
    Value::Array(
        h.iter()
            .map(|(n, v)| json!({ "name": n, "value": v }))
            .collect(),
    )
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn status_text(code: u16) -> &'static str {
    http::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

fn query(url: &str) -> Value {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    Value::Array(
        q.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (n, v) = p.split_once('=').unwrap_or((p, ""));
                json!({ "name": n, "value": v })
            })
            .collect(),
    )
}

/// One HAR entry.
pub fn entry(e: &Entry) -> Value {
    let status = e.status.unwrap_or(0);
    let mut request = json!({
        "method": e.method,
        "url": e.url,
        "httpVersion": "HTTP/1.1",
        "cookies": [],
        "headers": headers(&e.request_headers),
        "queryString": query(&e.url),
        "headersSize": -1,
        "bodySize": e.request_bytes,
    });
    if !e.request_body.is_empty() {
        request["postData"] = json!({
            "mimeType": header(&e.request_headers, "content-type").unwrap_or("application/octet-stream"),
            "text": e.request_body,
        });
    }
    let mut comment = format!("trigger: {}", e.trigger.as_str());
    if let Some(err) = &e.error {
        comment.push_str("; error: ");
        comment.push_str(err);
    }
    json!({
        "startedDateTime": iso(e.started_ms),
        "time": e.duration_ms,
        "request": request,
        "response": {
            "status": status,
            "statusText": status_text(status),
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": headers(&e.response_headers),
            "content": {
                "size": e.response_bytes,
                "mimeType": header(&e.response_headers, "content-type").unwrap_or(""),
                "text": e.response_body,
            },
            "redirectURL": header(&e.response_headers, "location").unwrap_or(""),
            "headersSize": -1,
            "bodySize": e.response_bytes,
        },
        "cache": {},
        "timings": { "send": 0, "wait": e.duration_ms, "receive": 0 },
        "connection": e.connection.clone().unwrap_or_default(),
        "comment": comment,
    })
}

/// A whole HAR 1.2 document.
pub fn document<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Value {
    json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "calproxy", "version": env!("CARGO_PKG_VERSION") },
            "pages": [],
            "entries": entries.into_iter().map(entry).collect::<Vec<_>>(),
        }
    })
}

/// Checks a document against the HAR 1.2 structure (required fields and
/// their types, ISO 8601 times). Used by tests and by nothing at runtime.
pub fn validate(doc: &Value) -> Result<(), String> {
    let log = doc.get("log").ok_or("no log")?;
    if log["version"] != "1.2" {
        return Err("version is not 1.2".into());
    }
    if !log["creator"]["name"].is_string() || !log["creator"]["version"].is_string() {
        return Err("creator".into());
    }
    let entries = log["entries"].as_array().ok_or("entries")?;
    for (i, e) in entries.iter().enumerate() {
        let ctx = |m: &str| format!("entry {i}: {m}");
        let started = e["startedDateTime"]
            .as_str()
            .ok_or_else(|| ctx("startedDateTime"))?;
        chrono::DateTime::parse_from_rfc3339(started)
            .map_err(|_| ctx("startedDateTime is not ISO 8601"))?;
        e["time"].as_f64().ok_or_else(|| ctx("time"))?;
        for (part, fields) in [
            ("request", &["method", "url", "httpVersion"][..]),
            (
                "response",
                &["statusText", "httpVersion", "redirectURL"][..],
            ),
        ] {
            for f in fields {
                e[part][f]
                    .as_str()
                    .ok_or_else(|| ctx(&format!("{part}.{f}")))?;
            }
            for f in ["cookies", "headers"] {
                e[part][f]
                    .as_array()
                    .ok_or_else(|| ctx(&format!("{part}.{f}")))?;
            }
            for f in ["headersSize", "bodySize"] {
                e[part][f]
                    .as_i64()
                    .ok_or_else(|| ctx(&format!("{part}.{f}")))?;
            }
        }
        e["request"]["queryString"]
            .as_array()
            .ok_or_else(|| ctx("queryString"))?;
        e["response"]["status"]
            .as_i64()
            .ok_or_else(|| ctx("status"))?;
        e["response"]["content"]["size"]
            .as_i64()
            .ok_or_else(|| ctx("content.size"))?;
        e["response"]["content"]["mimeType"]
            .as_str()
            .ok_or_else(|| ctx("content.mimeType"))?;
        if !e["cache"].is_object() {
            return Err(ctx("cache"));
        }
        for f in ["send", "wait", "receive"] {
            e["timings"][f]
                .as_f64()
                .ok_or_else(|| ctx(&format!("timings.{f}")))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traffic::Trigger;

    #[test]
    fn har_1_2_structure() {
        let e = Entry {
            started_ms: 1_764_000_000_000,
            connection: Some("icloud".into()),
            trigger: Trigger::SyncTick,
            method: "PROPFIND".into(),
            url: "https://caldav.icloud.com/?a=b".into(),
            request_headers: vec![("content-type".into(), "application/xml".into())],
            request_body: "<x/>".into(),
            request_bytes: 4,
            status: Some(207),
            error: None,
            response_headers: vec![],
            response_body: "<multistatus/>".into(),
            response_bytes: 14,
            duration_ms: 12.5,
        };
        let doc = document([&e]);
        validate(&doc).unwrap();
        assert_eq!(
            doc["log"]["entries"][0]["response"]["statusText"],
            "Multi-Status"
        );
    }
}
