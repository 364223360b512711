//! The policy sources compiler (`Sources`, `plugin/policy/src/sources/`) on the contoso
//! bundle with one file's contents replaced by the fuzz input. Invariants:
//!
//! - it never panics (sources come from an engineer's editor, or a browser upload in the
//!   playground);
//! - every problem and warning names one of the bundle's files, and a line that is in that
//!   file (0 for the bundle as a whole);
//! - `compile` fails exactly when `check` reports problems, and a policy that compiles
//!   writes a bundle that loads to the same policy.
//!
//! Input: one byte choosing the file (by its index in the sorted file list; a byte past
//! the list adds a file of that name), then its contents.
#![no_main]

use std::sync::LazyLock;

use e911_fuzz::Choices;
use e911_policy::{Bundle, Problem, Sources};
use libfuzzer_sys::fuzz_target;

static FILES: LazyLock<Vec<(String, Vec<u8>)>> = LazyLock::new(e911_fuzz::contoso_files);

/// Names the compiler reads by name or by extension, for a file added rather than replaced.
const EXTRA: [&str; 3] = ["extra.csv", "routes.toml", "notes/erls.CSV"];

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let pick = usize::from(choices.byte());
    let contents = choices.rest();
    let mut files = FILES.clone();
    match files.get_mut(pick) {
        Some(file) => file.1 = contents.to_vec(),
        None => files.push((EXTRA[pick % EXTRA.len()].to_owned(), contents.to_vec())),
    }
    let sources = Sources::from_files(files.iter().map(|(n, b)| (n.clone(), b.clone())));

    let check = sources.check();
    for problem in check.problems.iter().chain(&check.warnings) {
        names_a_line_of_a_file(problem, &files);
    }
    match sources.compile() {
        Ok(policy) => {
            assert!(
                check.problems.is_empty(),
                "compiles, yet check found {:?}",
                check.problems
            );
            let bytes = policy.write_bundle(None).expect("a compiled policy writes");
            let loaded = Bundle::load(&bytes, &[]).expect("a compiled policy's bundle loads");
            assert_eq!(
                loaded.policy(),
                &policy,
                "the policy changed through its bundle"
            );
        }
        Err(problems) => {
            assert!(!problems.is_empty(), "compile failed without a problem");
            assert_eq!(problems, check.problems, "compile and check disagree");
        }
    }
});

fn names_a_line_of_a_file(problem: &Problem, files: &[(String, Vec<u8>)]) {
    let Some((_, bytes)) = files.iter().find(|(name, _)| *name == problem.file) else {
        panic!("{problem}: names no file of the bundle");
    };
    // A bare CR ends a line too (old Mac exports; the CSV reader counts it).
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    let lines = breaks + 1;
    assert!(
        problem.line as usize <= lines,
        "{problem}: the file has {lines} lines"
    );
    assert!(!problem.message.is_empty(), "{problem}: says nothing");
}
