//! Locating keys in the configuration text: maps a key path such as
//! `registrar.min_expires` or `seat[1].user` to its byte span in the file,
//! and a byte offset to the 1-based `line:col` an admin's editor shows.
//! Works on `toml`'s span-preserving document tree (`toml::de::DeTable`).

use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One step of a key path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Finds keys of a parsed document by path.
pub(crate) struct Locator<'d, 'i> {
    root: &'d DeTable<'i>,
}

impl<'d, 'i> Locator<'d, 'i> {
    pub(crate) fn new(root: &'d DeTable<'i>) -> Self {
        Locator { root }
    }

    /// The span of the whole path if every step exists: the key's span for a
    /// final `Key`, the element's span for a final `Index`.
    pub(crate) fn exact(&self, path: &[Seg<'_>]) -> Option<Range<usize>> {
        let walked = self.walk(path);
        (walked.len() == path.len())
            .then(|| walked.last().cloned())
            .flatten()
    }

    /// The span of the longest existing prefix of `path` (a key that has its
    /// default points at its table's header); `0..0` if nothing exists.
    pub(crate) fn near(&self, path: &[Seg<'_>]) -> Range<usize> {
        self.walk(path).last().cloned().unwrap_or(0..0)
    }

    /// A string value at `path`, with the value's own span.
    pub(crate) fn string_at(&self, path: &[Seg<'_>]) -> Option<(&'d str, Range<usize>)> {
        let value = self.value(path)?;
        value.get_ref().as_str().map(|s| (s, value.span()))
    }

    /// Number of elements of the array at `path` (0 if absent or no array).
    pub(crate) fn array_len(&self, path: &[Seg<'_>]) -> usize {
        self.value(path)
            .and_then(|v| v.get_ref().as_array())
            .map_or(0, |a| a.len())
    }

    fn value(&self, path: &[Seg<'_>]) -> Option<&'d Spanned<DeValue<'i>>> {
        let (first, rest) = path.split_first()?;
        let mut current = match first {
            Seg::Key(k) => self.root.get(*k)?,
            Seg::Index(_) => return None,
        };
        for seg in rest {
            current = step(current.get_ref(), *seg)?.1;
        }
        Some(current)
    }

    /// Spans of each existing step of `path`, stopping at the first missing one.
    fn walk(&self, path: &[Seg<'_>]) -> Vec<Range<usize>> {
        let mut spans = Vec::new();
        let Some((Seg::Key(first), rest)) = path.split_first() else {
            return spans;
        };
        let Some((key, mut current)) = self.root.get_key_value(*first) else {
            return spans;
        };
        spans.push(key.span());
        for seg in rest {
            match step(current.get_ref(), *seg) {
                Some((span, next)) => {
                    spans.push(span);
                    current = next;
                }
                None => break,
            }
        }
        spans
    }
}

/// One step down from `value`: the span to report and the child value.
fn step<'d, 'i>(
    value: &'d DeValue<'i>,
    seg: Seg<'_>,
) -> Option<(Range<usize>, &'d Spanned<DeValue<'i>>)> {
    match seg {
        Seg::Key(k) => {
            let (key, child) = value.as_table()?.get_key_value(k)?;
            Some((key.span(), child))
        }
        Seg::Index(i) => {
            let child = value.as_array()?.get(i)?;
            Some((child.span(), child))
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
/// Offsets past the end or inside a character are clamped, never a panic.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "[sip]\nudp = [\"a\", \"b\"]\n\n[sip.timers]\nt1_ms = 1\n\n[[seat]]\nuser = \"x\"\n[[seat]]\nuser = \"y\"\n";

    fn line_of(span: Range<usize>) -> usize {
        line_col(DOC, span.start).0
    }

    #[test]
    fn finds_keys_elements_and_array_of_tables() {
        let doc = DeTable::parse(DOC).unwrap();
        let loc = Locator::new(doc.get_ref());
        let udp1 = loc.exact(&[Seg::Key("sip"), Seg::Key("udp"), Seg::Index(1)]);
        assert_eq!(udp1.map(line_of), Some(2));
        let t1 = loc.exact(&[Seg::Key("sip"), Seg::Key("timers"), Seg::Key("t1_ms")]);
        assert_eq!(t1.map(line_of), Some(5));
        let user2 = loc.exact(&[Seg::Key("seat"), Seg::Index(1), Seg::Key("user")]);
        assert_eq!(user2.map(line_of), Some(10));
        assert_eq!(loc.array_len(&[Seg::Key("seat")]), 2);
        let (s, _) = loc
            .string_at(&[Seg::Key("sip"), Seg::Key("udp"), Seg::Index(0)])
            .unwrap();
        assert_eq!(s, "a");
    }

    #[test]
    fn missing_key_points_at_nearest_existing_table() {
        let doc = DeTable::parse(DOC).unwrap();
        let loc = Locator::new(doc.get_ref());
        let path = [Seg::Key("sip"), Seg::Key("timers"), Seg::Key("t2_ms")];
        assert_eq!(loc.exact(&path), None);
        assert_eq!(line_of(loc.near(&path)), 4);
        assert_eq!(loc.near(&[Seg::Key("http"), Seg::Key("listen")]), 0..0);
    }

    #[test]
    fn line_col_is_one_based_counts_chars_and_clamps() {
        let text = "ab\nçd = 1\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        assert_eq!(line_col(text, 5), (2, 2)); // after the 2-byte 'ç'
        assert_eq!(line_col(text, 4), (2, 1)); // inside 'ç': clamped back
        assert_eq!(line_col(text, 999), (3, 1));
    }
}
