//! Action bindings: how a run's side effects are carried out.
//!
//! The VM never acts on the world itself: it builds an [`Action`] and hands it to a
//! [`Bindings`] implementation. [`Recording`] (the default) carries nothing out and
//! answers `retrieve` from a folder of Stripe objects; [`live::Live`] carries actions
//! out through [`stripe::Stripe`], [`email::Mailer`] and [`outbound::Outbound`]
//! (Slack and `http`), each request retried by the rules of [`retry`].

#![forbid(unsafe_code)]

#[cfg(feature = "live")]
pub mod email;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "live")]
pub mod outbound;
#[cfg(feature = "live")]
pub mod retry;
pub mod settings;
pub mod signature;
#[cfg(feature = "live")]
pub mod stripe;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

pub use flow_vm::{
    fields_table, message_text, Action, ActionContext, ActionError, Bindings, Email,
};

/// The default bindings: nothing leaves the machine. Retrieves are answered from
/// objects given with `--objects`.
#[derive(Clone, Default)]
pub struct Recording {
    objects: HashMap<String, Json>,
}

impl Recording {
    pub fn new() -> Recording {
        Recording::default()
    }

    pub fn with_object(mut self, object: Json) -> Recording {
        self.add(object);
        self
    }

    pub fn add(&mut self, object: Json) {
        if let Some(id) = object.get("id").and_then(Json::as_str) {
            self.objects.insert(id.to_string(), object);
        }
    }

    /// Load every `.json` file of a folder (any names), or one file: objects are found
    /// by `id`. A file may hold one object or an array of them.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, String> {
        let objects = load_objects(dir)?;
        let n = objects.len();
        for o in objects {
            self.add(o);
        }
        Ok(n)
    }
}

/// Stripe objects from a `.json` file or a folder of them (each file one object or
/// an array of objects), each with a string `id`.
pub fn load_objects(path: &Path) -> Result<Vec<Json>, String> {
    let files = if path.is_dir() {
        let entries =
            std::fs::read_dir(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json"))
            .collect();
        paths.sort();
        paths
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = Vec::new();
    for p in files {
        let text =
            std::fs::read_to_string(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let value: Json = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", p.display()))?;
        let items = match value {
            Json::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            if item.get("id").and_then(Json::as_str).is_none() {
                return Err(format!(
                    "{}: a Stripe object needs a string `id`",
                    p.display()
                ));
            }
            out.push(item);
        }
    }
    Ok(out)
}

impl Bindings for Recording {
    fn perform(&mut self, action: &Action, _cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        match action {
            Action::Retrieve { object, id, .. } => match self.objects.get(id) {
                Some(o) => {
                    let kind = o.get("object").and_then(Json::as_str).unwrap_or(object);
                    if kind != object {
                        return Err(ActionError::new(format!(
                            "retrieve {object} `{id}`: the object with that id is a {kind}"
                        )));
                    }
                    Ok(o.clone())
                }
                None => Err(ActionError::new(format!(
                    "retrieve {object} `{id}`: no such object (give it in a file under --objects)"
                ))),
            },
            _ => Ok(Json::Null),
        }
    }
}

/// A JSON value with `redact` applied to every string in it, the keys of objects
/// included: how a secret is kept out of an answer that is stored or shown.
#[cfg(feature = "live")]
pub(crate) fn redact_json(value: Json, redact: &dyn Fn(&str) -> String) -> Json {
    match value {
        Json::String(s) => Json::String(redact(&s)),
        Json::Array(items) => {
            Json::Array(items.into_iter().map(|v| redact_json(v, redact)).collect())
        }
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| (redact(&k), redact_json(v, redact)))
                .collect(),
        ),
        other => other,
    }
}
