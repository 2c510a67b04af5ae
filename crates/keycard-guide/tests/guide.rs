//! Checks that keep the guide's code honest, beside the doc tests `src/lib.rs` makes of every chapter:
//! every chapter of `SUMMARY.md` is a doc test module, every code block names its language (rustdoc would
//! compile an untagged one as Rust), every `ignore`d block says why, and the copy of the `minimal` example
//! that "Getting started" shows is the example itself.

use std::path::Path;

const LIB: &str = include_str!("../src/lib.rs");
const SUMMARY: &str = include_str!("../../../docs/guide/src/SUMMARY.md");
const GETTING_STARTED: &str = include_str!("../../../docs/guide/src/getting-started.md");
const MINIMAL: &str = include_str!("../../keycard-axum/examples/minimal.rs");

fn guide_src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/guide/src"))
}

/// The chapters `SUMMARY.md` links to, as paths relative to `docs/guide/src`.
fn chapters() -> Vec<String> {
    SUMMARY
        .lines()
        .filter_map(|l| l.split_once("](").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once(')').map(|(path, _)| path.to_owned()))
        .collect()
}

/// The documents `src/lib.rs` includes, as written there.
fn included() -> Vec<&'static str> {
    LIB.lines()
        .filter_map(|l| l.split_once("=> \"").map(|(_, rest)| rest))
        .filter_map(|rest| rest.split_once('"').map(|(path, _)| path))
        .collect()
}

#[test]
fn every_chapter_is_a_doc_test_module() {
    let included = included();
    let chapters = chapters();
    assert!(
        chapters.len() >= 30,
        "SUMMARY.md lists {} chapters",
        chapters.len()
    );
    for chapter in chapters {
        let path = format!("../../../docs/guide/src/{chapter}");
        assert!(
            included.contains(&path.as_str()),
            "{chapter} is in SUMMARY.md but not in crates/keycard-guide/src/lib.rs: add `name => \"{path}\",`"
        );
        assert!(
            guide_src().join(&chapter).is_file(),
            "{chapter} does not exist"
        );
    }
}

#[test]
fn every_code_block_names_its_language_and_every_ignore_says_why() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for doc in included() {
        let text = std::fs::read_to_string(root.join("src").join(doc)).expect(doc);
        let lines: Vec<&str> = text.lines().collect();
        let mut open = false;
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let Some(info) = trimmed.strip_prefix("```") else {
                continue;
            };
            if open {
                open = false;
                continue;
            }
            open = true;
            let info = info.trim();
            assert!(
                !info.is_empty(),
                "{doc}:{}: a code block without a language (rustdoc would compile it as Rust): use ```sh, ```toml, ```text …",
                i + 1
            );
            if info.starts_with("rust") && info.contains("ignore") {
                // The HTML comment right above the block (it may span lines).
                let above: Vec<&str> = lines[..i]
                    .iter()
                    .rev()
                    .copied()
                    .skip_while(|l| l.trim().is_empty())
                    .collect();
                let comment: Vec<&str> = match above.iter().position(|l| l.contains("<!--")) {
                    Some(start) if above.first().is_some_and(|l| l.trim_end().ends_with("-->")) => {
                        above[..=start].to_vec()
                    }
                    _ => Vec::new(),
                };
                assert!(
                    comment.iter().any(|l| l.contains("ignore:")),
                    "{doc}:{}: an ignored Rust block needs a comment above it saying why (`<!-- rust,ignore: … -->`)",
                    i + 1
                );
            }
        }
        assert!(!open, "{doc}: a code block is not closed");
    }
}

#[test]
fn getting_started_shows_the_minimal_example_from_its_first_line_of_code() {
    // The first line after the doc comment and the blank line under it.
    let first_code = MINIMAL
        .lines()
        .position(|l| !l.starts_with("//!") && !l.trim().is_empty())
        .expect("code")
        + 1;
    let include =
        format!("{{{{#include ../../../crates/keycard-axum/examples/minimal.rs:{first_code}:}}}}");
    assert!(
        GETTING_STARTED.contains(&include),
        "getting-started.md must include examples/minimal.rs from line {first_code}: `{include}`"
    );
}

#[test]
fn getting_started_shows_the_curl_lines_of_the_minimal_example() {
    let example: Vec<&str> = MINIMAL
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter(|l| l.starts_with("curl ") || l.starts_with("# "))
        .collect();
    assert!(example.len() >= 6, "the example lists its curl lines");
    let mut in_sh = false;
    let guide: Vec<&str> = GETTING_STARTED
        .lines()
        .filter(|l| {
            if l.starts_with("```") {
                in_sh = *l == "```sh";
                return false;
            }
            in_sh && (l.starts_with("curl ") || l.starts_with("# "))
        })
        .collect();
    assert_eq!(
        guide, example,
        "getting-started.md's curl lines differ from examples/minimal.rs's: copy them"
    );
}
