//! The tree of the members of an event that are kept: the paths the programs read,
//! each up to its first position in a list. The serde decoder (decode.rs) and the
//! scanner (scan.rs) build only what it names.

use flow_program::{Conv, FieldRead};

/// The members of an object that are kept; `whole` keeps the value as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Node {
    pub(crate) whole: bool,
    pub(crate) children: Vec<(String, Node)>,
}

impl Node {
    pub(crate) fn child(&mut self, key: &str) -> &mut Node {
        let i = match self.children.iter().position(|(k, _)| k == key) {
            Some(i) => i,
            None => {
                self.children.push((key.to_string(), Node::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[i].1
    }

    /// Keep the value at `path` whole (and what leads to it).
    pub(crate) fn keep<S: AsRef<str>>(&mut self, path: &[S]) {
        let mut node = self;
        for key in path {
            if node.whole {
                return;
            }
            node = node.child(key.as_ref());
        }
        node.whole = true;
        node.children.clear();
    }

    pub(crate) fn add_read(&mut self, r: &FieldRead) {
        self.keep(up_to_a_list(&r.path));
        if let Conv::Money { currency_path } = &r.conv {
            self.keep(up_to_a_list(currency_path));
        }
    }
}

/// A path up to its first position in a list (`items.data[0]` → `items.data`): the
/// whole list is kept.
fn up_to_a_list(path: &[String]) -> &[String] {
    let to = path
        .iter()
        .position(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or(path.len());
    &path[..to]
}

/// Keep in `into` whatever `from` keeps.
pub(crate) fn merge(into: &mut Node, from: &Node) {
    if into.whole {
        return;
    }
    if from.whole {
        into.whole = true;
        into.children.clear();
        return;
    }
    for (k, n) in &from.children {
        merge(into.child(k), n);
    }
}
