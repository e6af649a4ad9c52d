//! Crate-wide checks: the layer map in `lib.rs` is the code's real shape.
//!
//! `layering` reads the table in the crate docs and every `crate::…` path
//! in `src/` (test modules aside) and fails on a use that the table does
//! not allow, so the map cannot drift again (STYLE.md rule 14).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The table: layer -> the layers it may use.
fn layer_map(lib_rs: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut map = BTreeMap::new();
    let mut inside = false;
    for line in lib_rs.lines() {
        let Some(doc) = line.strip_prefix("//!") else {
            continue;
        };
        let doc = doc.trim();
        if doc.starts_with("layer ") && doc.contains("may use") {
            inside = true;
            continue;
        }
        if inside && doc.starts_with("```") {
            break;
        }
        if inside {
            let mut words = doc.split_whitespace();
            if let Some(layer) = words.next() {
                map.insert(layer.to_string(), words.map(str::to_string).collect());
            }
        }
    }
    map
}

/// The layer a source file belongs to: its first path segment under `src/`.
fn layer_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_string())
}

/// The code of a file without its test modules (`#[cfg(test)]` followed by
/// `mod …`, which by house style closes a file).
fn without_tests(text: &str) -> &str {
    let mut offset = 0;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            if let Some(next) = lines.peek() {
                if next.trim_start().starts_with("mod ") {
                    return &text[..offset];
                }
            }
        }
        offset += line.len() + 1;
    }
    text
}

/// The code with the contents of string literals blanked (a log target
/// such as `"calproxy::access"` is not a use).
fn blank_strings(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in code.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                out.push(c);
                continue;
            }
            out.push(if c == '\n' { '\n' } else { ' ' });
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

/// Every layer a file's code names through `crate::` (or `calproxy::` in the binary).
fn used_layers(code: &str) -> BTreeSet<String> {
    let blanked = blank_strings(code);
    let code = blanked.as_str();
    let mut out = BTreeSet::new();
    for prefix in ["crate::", "calproxy::"] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::c, d::{e, f}}`: the first segment of each item.
                for item in split_group(group) {
                    out.insert(item);
                }
                continue;
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The first path segment of each item of a `{…}` use group (its text
/// after the opening brace).
fn split_group(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut depth = 1;
    let mut current = String::new();
    let mut started = false;
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                if !current.is_empty() {
                    items.push(std::mem::take(&mut current));
                }
                started = false;
                continue;
            }
            _ => {}
        }
        if depth == 1 && !started {
            if c.is_ascii_alphanumeric() || c == '_' {
                current.push(c);
            } else if !current.is_empty() {
                started = true;
            }
        }
    }
    if !current.is_empty() {
        items.push(current);
    }
    items.retain(|i| i != "self");
    items
}

/// Violations of `map` by one file's code: `layer uses other`.
fn check(map: &BTreeMap<String, BTreeSet<String>>, layer: &str, code: &str) -> Vec<String> {
    let Some(allowed) = map.get(layer) else {
        return vec![format!("{layer} is not in the layer map")];
    };
    used_layers(without_tests(code))
        .into_iter()
        .filter(|u| u != layer && !allowed.contains(u))
        .map(|u| format!("{layer} uses {u}"))
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "tests") {
                continue;
            }
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs")
            && p.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(p);
        }
    }
}

#[test]
fn layering_the_checker_catches_an_upward_import() {
    let map = layer_map(
        "//! ```text\n//! layer      may use\n//! server     handlers\n//! handlers   store\n//! store\n//! ```",
    );
    assert_eq!(map.len(), 3);
    // A deliberate upward import: the store reaching for the server.
    let bad = "use crate::server::auth;\nfn f() { crate::handlers::x(); }\n";
    assert_eq!(
        check(&map, "store", bad),
        vec![
            "store uses handlers".to_string(),
            "store uses server".to_string()
        ]
    );
    // Grouped imports count item by item.
    let grouped = "use crate::{store::Store, server::{a, b}, self};\n";
    assert_eq!(
        check(&map, "handlers", grouped),
        vec!["handlers uses server".to_string()]
    );
    // Allowed downward uses, its own layer, look-alikes, strings and test modules pass.
    let good = "use crate::store::Store;\nuse super::x;\nmy_crate::server::y();\n\
                let t = \"crate::server\";\n#[cfg(test)]\nmod tests { use crate::server::z; }\n";
    assert!(check(&map, "handlers", good).is_empty());
    assert!(check(&map, "nowhere", good) == vec!["nowhere is not in the layer map"]);
}

#[test]
fn layering_no_module_imports_from_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let map = layer_map(&lib);
    assert!(map.len() > 15, "the layer map in lib.rs was not found");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = BTreeSet::new();
    for f in files {
        let Some(layer) = layer_of(&src, &f) else {
            continue;
        };
        if layer == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for v in check(&map, &layer, &text) {
            problems.insert(format!("{v} ({})", f.strip_prefix(root).unwrap().display()));
        }
    }
    assert!(
        problems.is_empty(),
        "uses the layer map in lib.rs does not allow:\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}
