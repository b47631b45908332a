//! The fast path of [`Decoder`](crate::Decoder): a lazy scan of one JSON text that
//! builds only the kept paths and walks over everything else without building or
//! decoding it.
//!
//! It checks the syntax of every skipped value as strictly as `serde_json` does,
//! and wherever its own checks are not enough to be sure of `serde_json`'s answer
//! (an escape in a string, a number that might be out of range, deep nesting) it
//! hands that piece to `serde_json` itself. On anything it does not accept it
//! answers `None`, and the caller decodes the line with the serde path, which then
//! gives the same value or the same error as before. So a line decodes exactly as
//! [`Decoder::decode_json`](crate::Decoder::decode_json) decodes it, only faster.
//!
//! Strings are scanned sixteen bytes at a time (SSE2 through `wide`'s safe vectors
//! on x86-64), then eight (SWAR on a `u64`), in safe code that runs on any
//! processor.
//!
//! The scanner reads bytes, not a `str`: a text it vouches for ([`fill`]) is valid
//! UTF-8 without a pass of its own over the whole text. Outside strings only ASCII
//! is valid JSON, and a string holding any byte past ASCII is checked as UTF-8 on
//! its own (or by `serde_json`, with an escape).

use std::borrow::Cow;

use flow_program::same_bytes;
use serde_json::{Map, Number, Value as Json};

use crate::kept::Node;
use crate::slots::{len_bit, FieldNode, Got, KeptFields};

/// Deeper than this (objects and lists inside each other), the serde path decides:
/// `serde_json` refuses nesting deeper than 128.
const MAX_DEPTH: usize = 100;

/// The kept part of `text`, or `None` when the serde path must decide (always so
/// for a text that is not UTF-8).
pub(crate) fn scan(top: &Node, text: &[u8]) -> Option<Json> {
    let mut s = Scanner::new(text);
    s.ws();
    let json = s.kept(top, 0)?;
    s.ws();
    (s.i == s.b.len()).then_some(json)
}

/// Record in `got` (one entry per field of `tree`) what each field of `text` holds,
/// and in `starts` where its value starts, checking the syntax of the whole text as
/// [`scan`] does (and that it is UTF-8); `None` when [`scan`] would not vouch for
/// the text, the text is not an object, or it is not UTF-8.
pub(crate) fn fill<'a>(
    tree: &FieldNode,
    text: &'a [u8],
    got: &mut [Got<'a>],
    starts: &mut [usize],
) -> Option<Filled> {
    let mut s = Scanner::new(text);
    s.ws();
    if s.peek() != Some(b'{') {
        return None;
    }
    s.field(tree, 0, got, starts)?;
    s.ws();
    (s.i == s.b.len()).then_some(Filled {
        repeated: s.repeated,
    })
}

/// What [`fill`] saw of a text it vouches for.
pub(crate) struct Filled {
    /// Whether an object it looked into named one of the members it looks for twice
    /// (the last one wins, but the decoder keeps the first one's place).
    pub(crate) repeated: bool,
}

/// The kept part of `text`, as [`scan`] gives it, built from what [`fill`]
/// recorded for the fields of `kept` (a text it vouched for, with no member it
/// looks for named twice): the objects on the kept paths are made from the members
/// found, in the order of the text, and each kept value is decoded where it starts,
/// as [`scan`] decodes it. So the text is not scanned a second time.
pub(crate) fn kept_from_fill(
    kept: &KeptFields,
    text: &[u8],
    got: &[Got<'_>],
    starts: &[usize],
) -> Option<Json> {
    if kept.node.whole {
        return None;
    }
    let mut s = Scanner::new(text);
    s.object_from_fill(kept, 1, got, starts)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    /// Whether [`Scanner::field_object`] met a member it looks for twice.
    repeated: bool,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The bytes of `x` that are a quote, a backslash or a control character (and,
/// when `HIGH`, past ASCII) each have their high bit set in the result; the lowest
/// one set is always a true one.
#[inline]
fn special<const HIGH: bool>(x: u64) -> u64 {
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v;
    let high = if HIGH { x } else { 0 };
    (zero_in(quote) | zero_in(backslash) | (x.wrapping_sub(ONES * 0x20) & !x) | high) & HIGHS
}

/// One bit per byte of `block` (the lowest for the first byte) that is a quote, a
/// backslash or a control character (and, when `HIGH`, past ASCII): sixteen bytes
/// compared at once (SSE2 on x86-64, through `wide`'s safe vectors; plain code
/// elsewhere).
#[inline(always)]
fn special16<const HIGH: bool>(block: [u8; 16]) -> u32 {
    use wide::u8x16;
    let v = u8x16::new(block);
    let control = u8x16::splat(0x1f);
    let mut hits = v.simd_eq(u8x16::splat(b'"'))
        | v.simd_eq(u8x16::splat(b'\\'))
        | v.max(control).simd_eq(control);
    if HIGH {
        let high = u8x16::splat(0x80);
        hits |= v.max(high).simd_eq(v);
    }
    hits.to_bitmask()
}

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8]) -> Scanner<'a> {
        Scanner {
            b,
            i: 0,
            repeated: false,
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// A value at a node: whole, or only what leads to the node's children.
    fn kept(&mut self, node: &Node, depth: usize) -> Option<Json> {
        self.ws();
        match self.peek()? {
            b'{' if !node.whole => self.kept_object(node, depth + 1),
            b'[' if !node.whole => {
                // No path reads into a list by key: its items are checked and dropped.
                self.skip(depth)?;
                Some(Json::Array(Vec::new()))
            }
            b'{' | b'[' => {
                let start = self.i;
                self.skip(depth)?;
                serde_json::from_slice(&self.b[start..self.i]).ok()
            }
            b'"' => self.string().map(Json::String),
            b't' => self.literal(b"true").map(|()| Json::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Json::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Json::Null),
            _ => self.number().map(Json::Number),
        }
    }

    fn kept_object(&mut self, node: &Node, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // '{'
        let mut out = Map::with_capacity(node.children.len());
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(Json::Object(out));
        }
        loop {
            self.ws();
            let found = self.key(node)?;
            self.eat(b':')?;
            match found {
                Some(k) => {
                    let (key, child) = &node.children[k];
                    let value = self.kept(child, depth)?;
                    // As `serde_json::Map` does: the last of duplicate keys wins.
                    out.insert(key.clone(), value);
                }
                None => {
                    self.ws();
                    self.skip_member(depth)?;
                }
            }
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(Json::Object(out));
                }
                _ => return None,
            }
        }
    }

    /// A member's key: the index of the child it names, or `None` (a key that is
    /// not kept).
    fn key(&mut self, node: &Node) -> Option<Option<usize>> {
        self.key_in(&node.children, u64::MAX)
    }

    /// A member's key: its index among `children`, or `None`. `lens` has the
    /// [`len_bit`] of every child's key (and may have more).
    #[inline(always)]
    fn key_in<T>(&mut self, children: &[(String, T)], lens: u64) -> Option<Option<usize>> {
        if self.peek() != Some(b'"') {
            return None;
        }
        let start = self.i + 1;
        let escaped = self.skip_string()?;
        let raw = &self.b[start..self.i - 1];
        if !escaped {
            if lens & len_bit(raw.len()) == 0 {
                return Some(None);
            }
            return Some(
                children
                    .iter()
                    .position(|(k, _)| same_bytes(k.as_bytes(), raw)),
            );
        }
        let key: String = serde_json::from_slice(&self.b[start - 1..self.i]).ok()?;
        Some(children.iter().position(|(k, _)| *k == key))
    }

    /// A value at a node of the field tree: what it holds is recorded for the fields
    /// that end here, and the fields below are looked for in it. Its syntax is
    /// checked as [`Scanner::kept`] and [`Scanner::skip`] check it, at the same
    /// depths. A member seen again replaces what the first one recorded, as the last
    /// of duplicate keys wins in the decoded value.
    fn field(
        &mut self,
        node: &FieldNode,
        depth: usize,
        got: &mut [Got<'a>],
        starts: &mut [usize],
    ) -> Option<()> {
        self.ws();
        let start = self.i;
        for &f in node.here.iter().chain(&node.kept).chain(&node.below) {
            if let Some(g) = got.get_mut(f) {
                *g = Got::Absent;
            }
        }
        let wanted = !node.here.is_empty();
        let v = match self.peek()? {
            b'{' if !node.children.is_empty() => {
                self.field_object(node, depth + 1, got, starts)?;
                Got::Object
            }
            b'{' => {
                self.skip(depth)?;
                Got::Object
            }
            b'[' => {
                self.skip(depth)?;
                // A list on the way: the ordinary path reads it.
                for &f in &node.below {
                    if let Some(g) = got.get_mut(f) {
                        *g = Got::Other;
                    }
                }
                Got::Other
            }
            b'"' if wanted => Got::Str(self.str_value()?),
            b'"' => {
                self.skip_string()?;
                Got::Other
            }
            b't' => self.literal(b"true").map(|()| Got::Bool(true))?,
            b'f' => self.literal(b"false").map(|()| Got::Bool(false))?,
            b'n' => self.literal(b"null").map(|()| Got::Null)?,
            _ => self.int_value()?,
        };
        for &f in &node.kept {
            if let (Some(g), Some(at)) = (got.get_mut(f), starts.get_mut(f)) {
                *g = if v == Got::Object {
                    Got::Object
                } else {
                    Got::Other
                };
                *at = start;
            }
        }
        if wanted {
            for &f in &node.here {
                if let (Some(g), Some(at)) = (got.get_mut(f), starts.get_mut(f)) {
                    *g = v.clone();
                    *at = start;
                }
            }
        }
        Some(())
    }

    /// The members of an object at a node of the field tree (`got` and `starts` as
    /// in [`Scanner::field`], which is kept apart from them so that both stay
    /// plain slices: a struct around them cost 1.5% of batch mode).
    fn field_object(
        &mut self,
        node: &FieldNode,
        depth: usize,
        got: &mut [Got<'a>],
        starts: &mut [usize],
    ) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.i += 1; // '{'
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Some(());
        }
        // The children met so far (one bit each, for the first 64).
        let mut met = 0u64;
        loop {
            self.ws();
            let found = self.key_in(&node.children, node.lens)?;
            self.eat(b':')?;
            match found.and_then(|k| Some((k, node.children.get(k)?))) {
                Some((k, (_, child))) => {
                    let bit = u32::try_from(k).ok().and_then(|k| 1u64.checked_shl(k));
                    match bit {
                        Some(bit) if met & bit == 0 => met |= bit,
                        _ => self.repeated = true,
                    }
                    self.field(child, depth, got, starts)?;
                }
                None => {
                    self.ws();
                    self.skip_member(depth)?;
                }
            }
            self.ws();
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The object at a node of `kept` that is not kept whole, from what
    /// [`Scanner::field`] recorded: its members found, in the order of the text,
    /// each decoded as [`Scanner::kept`] decodes it (at the same depth).
    fn object_from_fill(
        &mut self,
        kept: &KeptFields,
        depth: usize,
        got: &[Got<'_>],
        starts: &[usize],
    ) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut found: Vec<(usize, &String, &KeptFields)> = kept
            .children
            .iter()
            .filter_map(|(key, child)| match got.get(child.field)? {
                Got::Absent => None,
                _ => Some((*starts.get(child.field)?, key, child)),
            })
            .collect();
        found.sort_unstable_by_key(|&(at, _, _)| at);
        let mut out = Map::with_capacity(kept.node.children.len());
        for (at, key, child) in found {
            let value = if !child.node.whole && got.get(child.field) == Some(&Got::Object) {
                self.object_from_fill(child, depth + 1, got, starts)?
            } else {
                self.i = at;
                self.kept(&child.node, depth)?
            };
            out.insert(key.clone(), value);
        }
        Some(Json::Object(out))
    }

    /// A string value, borrowed from the text when it has no escape.
    fn str_value(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i;
        let escaped = self.skip_string()?;
        let b = self.b;
        if escaped {
            serde_json::from_slice(b.get(start..self.i)?)
                .ok()
                .map(Cow::Owned)
        } else {
            std::str::from_utf8(b.get(start + 1..self.i - 1)?)
                .ok()
                .map(Cow::Borrowed)
        }
    }

    /// A number (checked as [`Scanner::skip`] checks it): an `Int` when
    /// `serde_json` holds it as an `i64`, else `Other`.
    fn int_value(&mut self) -> Option<Got<'a>> {
        let start = self.i;
        if !self.skip_number()? {
            serde_json::from_slice::<Json>(self.b.get(start..self.i)?).ok()?;
        }
        // ASCII: `skip_number` took nothing else.
        let token = std::str::from_utf8(self.b.get(start..self.i)?).ok()?;
        // A fraction or an exponent is a float, and so is `-0`.
        if token.contains(['.', 'e', 'E']) || token == "-0" {
            return Some(Got::Other);
        }
        Some(token.parse::<i64>().map_or(Got::Other, Got::Int))
    }

    /// A string value, decoded.
    fn string(&mut self) -> Option<String> {
        let start = self.i;
        let escaped = self.skip_string()?;
        if escaped {
            serde_json::from_slice(&self.b[start..self.i]).ok()
        } else {
            std::str::from_utf8(&self.b[start + 1..self.i - 1])
                .ok()
                .map(str::to_string)
        }
    }

    /// Past a string (at its opening quote); whether it holds an escape. A string
    /// with an escape is checked by `serde_json` (which refuses a lone surrogate,
    /// for one), and one with a byte past ASCII as UTF-8.
    #[inline(always)]
    fn skip_string(&mut self) -> Option<bool> {
        let start = self.i;
        self.i += 1;
        loop {
            self.skip_plain::<true>();
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(false);
                }
                b'\\' | 0x80.. => return self.rest_of_string(start),
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
    }

    /// The rest of the string that starts at `start`, from its first escape or byte
    /// past ASCII; then the whole string is checked, by `serde_json` when it holds
    /// an escape, else as UTF-8. Whether it holds an escape.
    #[inline(never)]
    fn rest_of_string(&mut self, start: usize) -> Option<bool> {
        let mut escaped = false;
        loop {
            self.skip_plain::<false>();
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    escaped = true;
                    // The escaped character is checked below, by `serde_json`.
                    self.i += 2;
                }
                c if c < 0x20 => return None,
                _ => self.i += 1,
            }
        }
        let text = self.b.get(start..self.i)?;
        if escaped {
            serde_json::from_slice::<String>(text).ok()?;
        } else {
            std::str::from_utf8(text).ok()?;
        }
        Some(escaped)
    }

    /// On to the next quote, backslash or control character (and, when `HIGH`, byte
    /// past ASCII) of a string, or to the last few bytes of the text: sixteen bytes
    /// at a time while there are sixteen, then eight.
    #[inline(always)]
    fn skip_plain<const HIGH: bool>(&mut self) {
        while let Some(&block) = self.b.get(self.i..).and_then(|r| r.first_chunk::<16>()) {
            let hits = special16::<HIGH>(block);
            if hits != 0 {
                self.i += hits.trailing_zeros() as usize;
                return;
            }
            self.i += 16;
        }
        while let Some(&word) = self.b.get(self.i..).and_then(|r| r.first_chunk::<8>()) {
            let hits = special::<HIGH>(u64::from_le_bytes(word));
            if hits != 0 {
                self.i += hits.trailing_zeros() as usize / 8;
                return;
            }
            self.i += 8;
        }
    }

    /// Past `word` (`true`, `false` or `null`), compared as one word of its length
    /// rather than by a call of `memcmp`.
    #[inline(always)]
    fn literal<const N: usize>(&mut self, word: &[u8; N]) -> Option<()> {
        if self.b.get(self.i..)?.first_chunk::<N>()? == word {
            self.i += N;
            Some(())
        } else {
            None
        }
    }

    /// Past a number; whether `serde_json` is sure to take it without asking it
    /// (`true`), or it must be asked (an exponent, or very many digits).
    fn skip_number(&mut self) -> Option<bool> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek()? {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        let mut plain = self.i - start < 300;
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
            plain = false;
        }
        Some(plain)
    }

    #[inline]
    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
    }

    /// A number value, as `serde_json::Value` holds it.
    fn number(&mut self) -> Option<Number> {
        let start = self.i;
        self.skip_number()?;
        let token = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        // Small integers: what `serde_json` makes of them, without asking it (but
        // `-0` is a float there).
        if token.len() <= 18 && !token.contains(['.', 'e', 'E']) && !token.starts_with("-0") {
            let n: i64 = token.parse().ok()?;
            return Some(match u64::try_from(n) {
                Ok(u) => u.into(),
                Err(_) => n.into(),
            });
        }
        match serde_json::from_str::<Json>(token).ok()? {
            Json::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Past a member's value that is not kept: a string, number or literal here,
    /// a list or an object by [`Scanner::skip`] (most members are the former, and
    /// need no call).
    #[inline(always)]
    fn skip_member(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string().map(|_| ()),
            b'{' | b'[' => self.skip(depth),
            _ => self.skip_scalar(),
        }
    }

    /// Past a number, `true`, `false` or `null`, its syntax checked.
    #[inline(always)]
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => {
                let start = self.i;
                if !self.skip_number()? {
                    serde_json::from_slice::<Json>(&self.b[start..self.i]).ok()?;
                }
                Some(())
            }
        }
    }

    /// Past one value whose syntax is checked but which is not kept. `depth`: how
    /// deep the value is.
    fn skip(&mut self, depth: usize) -> Option<()> {
        // One bit per open container, set for an object.
        let mut objects: u128 = 0;
        let mut open = 0usize;
        'value: loop {
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.skip_string()?;
                }
                b'{' | b'[' => {
                    let object = self.b[self.i] == b'{';
                    open += 1;
                    if depth + open > MAX_DEPTH {
                        return None;
                    }
                    objects = (objects << 1) | u128::from(object);
                    self.i += 1;
                    self.ws();
                    let close = if object { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.i += 1;
                        open -= 1;
                        objects >>= 1;
                    } else {
                        if object {
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                }
                _ => self.skip_scalar()?,
            }
            // After a value: close what ends here, up to the next value.
            loop {
                if open == 0 {
                    return Some(());
                }
                self.ws();
                let object = objects & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        if object {
                            self.ws();
                            self.member_key()?;
                        }
                        continue 'value;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.i += 1;
                open -= 1;
                objects >>= 1;
            }
        }
    }

    /// Past a member's key and its colon.
    fn member_key(&mut self) -> Option<()> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.skip_string()?;
        self.eat(b':')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special16_marks_every_quote_backslash_and_control() {
        let mut block = [0u8; 16];
        for b in 0..=255u8 {
            for at in 0..16 {
                block.fill(b'a');
                block[at] = b;
                let want = if b == b'"' || b == b'\\' || b < 0x20 {
                    1 << at
                } else {
                    0
                };
                assert_eq!(special16::<false>(block), want, "byte {b:#x} at {at}");
                let high = if b >= 0x80 { 1 << at } else { want };
                assert_eq!(special16::<true>(block), high, "byte {b:#x} at {at}");
            }
        }
        let mut all = *b"a\"b\\c\x01d\x7fe\xffabcdef";
        assert_eq!(special16::<false>(all), 0b10_1010);
        assert_eq!(special16::<true>(all), 0b10_0010_1010);
        all[15] = b'"';
        assert_eq!(special16::<false>(all), 0b1000_0000_0010_1010);
    }

    #[test]
    fn special_finds_the_first_quote_backslash_or_control() {
        // The first special byte, and the first when bytes past ASCII are too.
        for (text, want, high) in [
            (&b"abcdefgh"[..], None, None),
            (b"abc\"efgh", Some(3), Some(3)),
            (b"a\\c\"efgh", Some(1), Some(1)),
            (b"\xc3\xa9cde\ngh", Some(5), Some(0)),
            (b"\x1f\"\"\"\"\"\"\"", Some(0), Some(0)),
            (b"\x7f\x80\xff ~!#[", None, Some(1)),
            (b"abcdefg\x00", Some(7), Some(7)),
            (b"abcdef\xff\"", Some(7), Some(6)),
        ] {
            let mut w = [0u8; 8];
            w.copy_from_slice(text);
            let first = |hits: u64| (hits != 0).then(|| hits.trailing_zeros() as usize / 8);
            assert_eq!(
                first(special::<false>(u64::from_le_bytes(w))),
                want,
                "{text:?}"
            );
            assert_eq!(
                first(special::<true>(u64::from_le_bytes(w))),
                high,
                "{text:?}"
            );
        }
    }
}
