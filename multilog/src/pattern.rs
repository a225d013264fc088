//! multilog's pattern language (djb's `match`): a literal byte matches itself; a `*`
//! followed by byte c consumes input up to (not including) the first c, without
//! backtracking; a `*` at the end matches the rest. The pattern must consume the whole line.

use crate::io::find;

/// Does `pattern` match all of `line`?
pub fn matches(pattern: &[u8], line: &[u8]) -> bool {
    let (mut p, mut l) = (0, 0);
    loop {
        let Some(&c) = pattern.get(p) else {
            return l == line.len();
        };
        p += 1;
        if c == b'*' {
            // The star stops at the first occurrence of the next pattern byte, which the
            // next round then matches (a second `*` is itself that byte).
            let Some(&stop) = pattern.get(p) else {
                return true;
            };
            match find(stop, &line[l..]) {
                Some(i) => l += i,
                None => return false,
            }
            continue;
        }
        if line.get(l) != Some(&c) {
            return false;
        }
        l += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    fn m(p: &str, l: &str) -> bool {
        matches(p.as_bytes(), l.as_bytes())
    }

    #[test]
    fn man_page_examples() {
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hello world"));
        assert!(m(
            "named[*]: Cleaned cache *",
            "named[135]: Cleaned cache of 3121 RRs."
        ));
        assert!(m("*", "anything at all"));
        assert!(m("*", ""));
        assert!(m(
            "* fatal: *",
            "@400000003b4a39c23294b13c fatal: out of memory"
        ));
    }

    #[test]
    fn no_backtracking() {
        // The star stops at the first 'b'; the rest of the pattern must then match there.
        assert!(!m("a*bc", "abxbc"));
        assert!(m("a*bc", "axxbc"));
        assert!(m("*b", "aab"));
        assert!(!m("*b", "abab"));
        // `**x`: the first star stops at the first '*' in the line.
        assert!(!m("**x", "abx"));
        assert!(m("**x", "a*bx"));
    }

    #[test]
    fn literal_and_empty() {
        assert!(m("", ""));
        assert!(!m("", "x"));
        assert!(!m("abc", "ab"));
        assert!(matches(b"a\0b", b"a\0b"));
        assert!(m("a*", "a"));
        assert!(!m("a*b", "a"));
    }

    mod props {
        use super::matches;
        use proptest::collection::vec;
        use proptest::prelude::*;

        fn bytes() -> impl Strategy<Value = Vec<u8>> {
            vec(
                prop_oneof![Just(b'*'), Just(b'a'), Just(b'b'), any::<u8>()],
                0..24,
            )
        }

        proptest! {
            /// Any pattern against any line answers; `*` matches everything; a pattern
            /// without a star matches exactly itself; `P*` matches what starts with P.
            #[test]
            fn patterns(p in bytes(), l in bytes()) {
                let _ = matches(&p, &l);
                prop_assert!(matches(b"*", &l));
                if !p.contains(&b'*') {
                    prop_assert_eq!(matches(&p, &l), p == l);
                    let mut star = p.clone();
                    star.push(b'*');
                    prop_assert_eq!(matches(&star, &l), l.starts_with(&p));
                }
            }
        }
    }
}
