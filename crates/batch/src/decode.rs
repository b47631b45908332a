//! Decode only what the programs read.
//!
//! A compiled [`Program`] lists every field path it reads from the event
//! (`Program::reads`). [`Decoder`] merges those paths of all the programs of a file
//! into a tree, and decodes an event line into a `serde_json::Value` that holds those
//! paths and nothing else: every other member is skipped while parsing (its syntax
//! is still checked) and never allocated. The VM then runs on that small value
//! exactly as it would on the whole event: each path it reads leads to the same
//! value in both.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value as Json};

use flow_program::Program;
use flow_program::Root;
use flow_vm::Event;

use crate::kept::{merge, Node};

/// Turns event lines into [`Event`]s holding only what the programs read.
#[derive(Clone, Debug)]
pub struct Decoder {
    pub(crate) top: Node,
    event_type: Option<String>,
    /// What `now` is in each event's runs.
    pub now: Option<i64>,
}

impl Decoder {
    /// A decoder for these programs. With `event_type`, a line may also be a bare
    /// Stripe object of that event type (as `flow run --type`).
    pub fn new<'a>(
        programs: impl IntoIterator<Item = &'a Program>,
        event_type: Option<&str>,
    ) -> Decoder {
        let mut top = Node::default();
        // What `Event::from_json` and the run report look at.
        for key in ["id", "object", "type"] {
            top.keep(&[key]);
        }
        let mut object = Node::default();
        for p in programs {
            for r in &p.reads {
                match r.root {
                    Root::Event => top.add_read(r),
                    Root::Object => object.add_read(r),
                    Root::Local(_) => {}
                }
            }
        }
        if event_type.is_some() {
            // A bare object is the top of the line: keep its fields there too.
            merge(&mut top, &object);
        }
        let data = top.child("data");
        if !data.whole {
            merge(data.child("object"), &object);
        }
        Decoder {
            top,
            event_type: event_type.map(str::to_string),
            now: None,
        }
    }

    /// The event type of bare objects (`--type`), if any.
    pub(crate) fn event_type(&self) -> Option<&str> {
        self.event_type.as_deref()
    }

    /// Decode one line into an event, or say why it is not one.
    pub fn decode(&self, line: &str) -> Result<Event, String> {
        let json = self.decode_json(line).map_err(|e| json_error(&e))?;
        self.event(json)
    }

    /// Decode one line, given as bytes, into an event, or say why it is not one.
    /// The scan reads the bytes as they are and vouches that they are UTF-8; only a
    /// line it declines is checked as UTF-8 on its own, then decoded by the serde
    /// path. So the line is read once, not once to check it and once to decode it.
    pub fn decode_line(&self, line: &[u8]) -> Result<Event, String> {
        let json = match self.scanned(line) {
            Some(json) => json,
            None => {
                let text = std::str::from_utf8(line).map_err(|e| {
                    format!(
                        "not valid UTF-8 (at byte {} of the line)",
                        e.valid_up_to() + 1
                    )
                })?;
                self.decode_json_serde(text).map_err(|e| json_error(&e))?
            }
        };
        self.event(json)
    }

    /// An event from its kept part, or why it is not one.
    pub(crate) fn event(&self, json: Json) -> Result<Event, String> {
        let mut event = Event::from_json(json, self.event_type.as_deref())?;
        event.now = self.now;
        Ok(event)
    }

    /// The kept part of one JSON text (a line, or a webhook's body), refused for
    /// exactly the reasons, and with the messages, that `serde_json` gives for the
    /// whole text.
    ///
    /// This is the one place that turns a text into what the VM reads: a lazy scan
    /// ([`scan`](crate::scan)) of its bytes that builds only the kept paths, and,
    /// for a text it does not vouch for, the serde path below, which gives the same
    /// value or the error message. The scan vouches only for UTF-8, so a text is
    /// checked as UTF-8 on its own only when the scan declines it; one that is not
    /// gets `serde_json`'s own error for it.
    pub fn decode_json(&self, text: impl AsRef<[u8]>) -> Result<Json, serde_json::Error> {
        let bytes = text.as_ref();
        if let Some(json) = self.scanned(bytes) {
            return Ok(json);
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.decode_json_serde(text),
            Err(_) => serde_json::from_slice(bytes),
        }
    }

    /// The kept part of a JSON text given as bytes, when the lazy scan vouches for
    /// it (which it does only for UTF-8); `None` when the serde path must decide.
    pub(crate) fn scanned(&self, bytes: &[u8]) -> Option<Json> {
        crate::scan::scan(&self.top, bytes)
    }

    /// The kept part of one JSON text, decoded by `serde_json` with a seed that
    /// skips what is not kept.
    pub(crate) fn decode_json_serde(&self, text: &str) -> Result<Json, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let json = Pruned(&self.top).deserialize(&mut de)?;
        de.end()?;
        Ok(json)
    }
}

/// A line that is not JSON, as an error record says it: the position within the
/// line (the line's number is said by the caller).
fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let what = text.rsplit_once(" at line ").map_or(&*text, |(w, _)| w);
    format!("not valid JSON at column {}: {what}", e.column())
}

/// Deserialize a value keeping only the members that `Node` names.
struct Pruned<'n>(&'n Node);

impl<'de> DeserializeSeed<'de> for Pruned<'_> {
    type Value = Json;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        if self.0.whole {
            Json::deserialize(d)
        } else {
            d.deserialize_any(self)
        }
    }
}

/// A value that is not kept: parsed as `serde_json::Value` would parse it (so a
/// line is refused for exactly the same reasons, e.g. a number out of range), but
/// nothing is built.
struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(Skip)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Skip)?.is_some() {
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
}

/// The index of a member's key among the node's children, or `None` to skip it.
struct Key<'n>(&'n Node);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.0.children.iter().position(|(k, _)| k == key))
    }
}

// Scalars become what `serde_json::Value` makes of them; arrays and objects on the
// way to a kept path keep only what can be read through them.
impl<'de> Visitor<'de> for Pruned<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Json, E> {
        Ok(Json::Number(i.into()))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Json, E> {
        Ok(Json::Number(u.into()))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Json, E> {
        Ok(Number::from_f64(f).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::String(s))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        Pruned(self.0).deserialize(d)
    }

    /// No path reads into a list by key: its items are checked and dropped.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(Json::Array(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = Map::new();
        while let Some(found) = map.next_key_seed(Key(self.0))? {
            match found {
                Some(i) => {
                    let (key, node) = &self.0.children[i];
                    let value = map.next_value_seed(Pruned(node))?;
                    out.insert(key.clone(), value);
                }
                None => map.next_value_seed(Skip)?,
            }
        }
        Ok(Json::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(paths: &[&[&str]]) -> Node {
        let mut n = Node::default();
        for p in paths {
            n.keep(p);
        }
        n
    }

    #[test]
    fn a_whole_path_absorbs_longer_ones() {
        let n = node(&[&["metadata", "order_id"], &["metadata"], &["metadata", "x"]]);
        let (_, m) = n.children.iter().find(|(k, _)| k == "metadata").unwrap();
        assert!(m.whole);
        assert!(m.children.is_empty());
    }

    #[test]
    fn keeps_only_named_members() {
        let d = Decoder {
            top: node(&[&["a", "b"], &["c"]]),
            event_type: None,
            now: None,
        };
        let j = d
            .decode_json(r#"{"x": [1, {"y": 2}], "a": {"b": 1, "z": {"q": [1,2]}}, "c": {"k": [true, null]}, "d": 1.5}"#)
            .unwrap();
        assert_eq!(
            j,
            serde_json::json!({"a": {"b": 1}, "c": {"k": [true, null]}})
        );
    }

    #[test]
    fn skipped_members_are_still_checked() {
        let d = Decoder {
            top: node(&[&["a"]]),
            event_type: None,
            now: None,
        };
        assert!(d.decode_json(r#"{"a": 1, "b": [1, }"#).is_err());
        assert!(d.decode_json(r#"{"a": 1} trailing"#).is_err());
        assert!(d.decode_json(r#"{"a": 1, "b": "\x"}"#).is_err());
        // As `serde_json::Value` does: a number out of range is refused.
        assert!(serde_json::from_str::<Json>(r#"{"a": 1, "b": [1e400]}"#).is_err());
        assert!(d.decode_json(r#"{"a": 1, "b": [1e400]}"#).is_err());
        assert!(d.decode_json(r#"{"a": 1, "b": {"c": -1e400}}"#).is_err());
    }

    #[test]
    fn escaped_keys_are_found() {
        let d = Decoder {
            top: node(&[&["amount"]]),
            event_type: None,
            now: None,
        };
        let j = d.decode_json(r#"{"amo\u0075nt": 5, "other": 1}"#).unwrap();
        assert_eq!(j, serde_json::json!({"amount": 5}));
    }

    #[test]
    fn intermediate_values_that_are_not_objects() {
        let d = Decoder {
            top: node(&[&["a", "b"]]),
            event_type: None,
            now: None,
        };
        for (text, want) in [
            (r#"{"a": null}"#, serde_json::json!({"a": null})),
            (r#"{"a": "s"}"#, serde_json::json!({"a": "s"})),
            (r#"{"a": [{"b": 1}]}"#, serde_json::json!({"a": []})),
            (r#"{"a": 2.5}"#, serde_json::json!({"a": 2.5})),
        ] {
            assert_eq!(d.decode_json(text).unwrap(), want, "{text}");
        }
    }
}
