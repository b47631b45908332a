//! The bindings of `flow run --live`: Stripe actions through Stripe's API, e-mail
//! through SMTP or an outbox folder.

use serde_json::Value as Json;

use super::email::Mailer;
use super::stripe::Stripe;
use super::{Action, ActionContext, ActionError, Bindings};

/// Routes each action to the service that carries it out. A part left out (no key,
/// no mail settings) fails the actions that need it, with what to set.
#[derive(Default)]
pub struct Live {
    pub stripe: Option<Stripe>,
    pub mail: Option<Mailer>,
}

impl Bindings for Live {
    fn perform(&mut self, action: &Action, cx: &ActionContext<'_>) -> Result<Json, ActionError> {
        match action {
            Action::Email(_) => match &mut self.mail {
                Some(m) => m.perform(action, cx),
                None => Err(ActionError::new(
                    "email: no way to send it: set `smtp` or `outbox` under [email] in flow.toml, or give --outbox DIR",
                )),
            },
            _ => match &mut self.stripe {
                Some(s) => s.perform(action, cx),
                None => Err(ActionError::new(format!(
                    "{}: no Stripe API key: set {}",
                    action.kind(),
                    super::stripe::API_KEY_VAR
                ))),
            },
        }
    }
}
