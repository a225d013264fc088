//! Conformance: envdir and the chain-loaders against IndiMail's daemontools-x.

use blackbox::conformance::{case, check};

#[test]
fn envdir() {
    check(vec![
        case("envdir.no-args", "envdir"),
        case("envdir.bad-option", "envdir -Z"),
        case("envdir.missing-dir", "envdir nodir true"),
        case("envdir.main", "mkdir e; echo hi > e/A; printf 'x\\0y' > e/B; : > e/C; envdir e env"),
    ]);
}
