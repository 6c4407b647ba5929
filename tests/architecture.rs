//! The layering of src/ (ARCHITECTURE.md): every top-level module sits on a floor and imports only modules on lower
//! floors. This test reads the crate paths (`crate::x`, and `super::` chains that leave a module) in every file of
//! src/ and fails on an import that runs sideways or up a floor, naming the file and line. It also holds the size
//! limit of a source file.

use std::path::{Path, PathBuf};

/// The floors, lowest first: the one place the order is written down.
const FLOORS: &[&[&str]] = &[
    &["util"],
    &["skeleton"],
    &["formats", "render"],
    &["dataset", "text", "nn", "bridge"],
    &["pretrain", "eval"],
    &["zsl"],
    &["experiment"],
    &["pipeline"],
    &["app"],
    &["cli"],
];

/// Longest source file, in lines.
const MAX_LINES: usize = 700;

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src_files() -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
}

/// The module path of a file below src/ (`src/app/editor/mod.rs` -> ["app", "editor"]).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" && stem != "main" {
        parts.push(stem.to_owned());
    }
    parts
}

/// Code without comments and string literals (a path in a doc comment or a message is no import).
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let mut in_str = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            if c == '\\' {
                chars.next();
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            break;
        }
        if c == '"' {
            in_str = true;
            continue;
        }
        out.push(c);
    }
    out
}

/// The top-level modules a line of `module` reaches: `crate::x`, and `super::` chains that climb out of its
/// top-level module (from `src/x/mod.rs`, `super::y` is `crate::y`).
fn reached(module: &[String], code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        found.push(ident(&code[i + "crate::".len()..]));
    }
    for (i, _) in code.match_indices("super::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &code[i..];
        let mut depth = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            depth += 1;
            rest = r;
        }
        // `super` from a file's module climbs one level per `super`; leaving the top-level module lands in the
        // crate root, where the next name is a top-level module. (An inline `mod tests` adds a level this does not
        // see, so only names of top-level modules count.)
        let name = ident(rest);
        if depth >= module.len() && floor_of(&name).is_some() {
            found.push(name);
        }
    }
    found
}

#[test]
fn imports_run_only_down_the_floors() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    let mut unplaced = Vec::new();
    for file in src_files() {
        let rel = file.strip_prefix(&src).expect("below src/");
        let module = module_path(rel);
        let Some(top) = module.first() else {
            continue; // lib.rs and main.rs sit above every floor
        };
        let Some(own) = floor_of(top) else {
            unplaced.push(top.clone());
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        for (n, line) in text.lines().enumerate() {
            for target in reached(&module, &code_of(line)) {
                if &target == top || target.is_empty() {
                    continue;
                }
                match floor_of(&target) {
                    Some(f) if f < own => {}
                    Some(f) => wrong.push(format!(
                        "{}:{}: {top} (floor {own}) imports {target} (floor {f}): {}",
                        rel.display(),
                        n + 1,
                        line.trim()
                    )),
                    None => unplaced.push(target),
                }
            }
        }
    }
    unplaced.sort();
    unplaced.dedup();
    assert!(
        unplaced.is_empty(),
        "modules on no floor (add them to FLOORS and ARCHITECTURE.md): {unplaced:?}"
    );
    assert!(
        wrong.is_empty(),
        "imports that run sideways or up a floor:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_top_level_module_is_on_a_floor() {
    let lib = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"))
        .expect("src/lib.rs");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    assert!(modules.len() >= 10, "{modules:?}");
    for m in &modules {
        assert!(
            floor_of(m).is_some(),
            "src/lib.rs declares `{m}`, which is on no floor"
        );
    }
    for floor in FLOORS {
        for m in *floor {
            assert!(
                modules.contains(m),
                "FLOORS names `{m}`, which src/lib.rs does not declare"
            );
        }
    }
}

#[test]
fn the_floor_check_sees_crate_and_super_paths() {
    let m = |p: &str| module_path(Path::new(p));
    assert_eq!(m("app/editor/mod.rs"), ["app", "editor"]);
    assert_eq!(m("eval/metrics.rs"), ["eval", "metrics"]);
    // From src/zsl/mod.rs, `super::app` is the crate's app; from src/zsl/star.rs it is zsl's own `app` (none).
    assert_eq!(reached(&m("zsl/mod.rs"), "use super::app::X;"), ["app"]);
    assert!(reached(&m("zsl/star.rs"), "use super::blocks::X;").is_empty());
    assert_eq!(
        reached(&m("zsl/star.rs"), "use super::super::pipeline::X;"),
        ["pipeline"]
    );
    assert_eq!(
        reached(&m("nn/stgcn.rs"), "let x = crate::dataset::load(p);"),
        ["dataset"]
    );
    assert!(reached(&m("nn/stgcn.rs"), &code_of("// see crate::app for why")).is_empty());
    assert!(reached(&m("nn/stgcn.rs"), &code_of(r#"panic!("crate::app")"#)).is_empty());
    assert!(floor_of("eval") < floor_of("zsl") && floor_of("zsl") < floor_of("experiment"));
}

#[test]
fn no_source_file_is_over_the_size_limit() {
    let long: Vec<String> = src_files()
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines: {}",
        long.join(", ")
    );
}
