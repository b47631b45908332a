//! Action bindings: how a run's side effects are carried out.
//!
//! The VM never acts on the world itself: it builds an [`Action`] and hands it to a
//! [`Bindings`] implementation. [`Recording`] (the default) carries nothing out and
//! answers Stripe calls and `retrieve` from a folder of Stripe objects, the same way
//! each time (its rules are in [`recording`]); [`live::Live`] carries actions
//! out through [`stripe::Stripe`], [`email::Mailer`] and [`outbound::Outbound`]
//! (Slack and `http`), each request retried by the rules of [`retry`].

#![forbid(unsafe_code)]

#[cfg(feature = "live")]
pub mod email;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "live")]
pub mod outbound;
pub mod rate;
pub mod recording;
#[cfg(feature = "live")]
pub mod retry;
pub mod settings;
pub mod signature;
#[cfg(feature = "live")]
pub mod stripe;

#[cfg(feature = "live")]
use serde_json::Value as Json;

pub use flow_vm::{
    fields_table, message_text, Action, ActionContext, ActionError, Bindings, Email,
};
pub use recording::{load_objects, Recording};

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
