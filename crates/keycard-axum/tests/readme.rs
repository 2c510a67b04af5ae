//! The README's quick start is `examples/minimal.rs`, word for word: `cargo test` builds the example and
//! compiles the README's copy as a doctest, and these tests keep the two copies the same.

const README: &str = include_str!("../../../README.md");
const MINIMAL: &str = include_str!("../examples/minimal.rs");

#[test]
fn readme_quick_start_is_the_minimal_example() {
    let code: Vec<&str> = MINIMAL.lines().filter(|l| !l.starts_with("//!")).collect();
    let block = format!(
        "```rust,no_run\n{}\n```",
        code.join("\n").trim_matches('\n')
    );
    assert!(
        README.contains(&block),
        "the README's quick start differs from examples/minimal.rs: copy the file, without its doc \
         comment, into the README's rust,no_run block"
    );
}

#[test]
fn readme_shows_the_curl_lines_of_the_minimal_example() {
    let lines: Vec<&str> = MINIMAL
        .lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter(|l| l.starts_with("curl ") || l.starts_with("# "))
        .collect();
    assert!(lines.len() >= 6, "the example lists its curl lines");
    for line in lines {
        assert!(
            README.lines().any(|r| r == line),
            "the README lacks: {line}"
        );
    }
}
