//! Shared pieces of the benchmarks: the six conditions as each engine writes them,
//! generated events, and a generated flow file of many workflows.

#![recursion_limit = "256"]
#![forbid(unsafe_code)]

use serde::Deserialize;
use serde_json::{json, Value as Json};

/// One condition as flow, CEL and Rhai write it. The event is `event` for CEL and
/// Rhai; flow reads `data.object` fields by name and the envelope as `event.…`.
pub struct Condition {
    pub name: &'static str,
    pub flow: &'static str,
    pub cel: &'static str,
    pub rhai: &'static str,
    /// A hand-written Rust closure over the decoded `serde_json::Value`.
    pub closure: fn(&Json) -> bool,
    /// A hand-written Rust closure over a typed struct of the fields, decoded once
    /// from the event ([`TypedEvent`]): the floor.
    pub typed: fn(&TypedEvent) -> bool,
}

/// The fields the six conditions read, decoded once from the event JSON with serde.
#[derive(Clone, Debug, Deserialize)]
pub struct TypedEvent {
    pub pending_webhooks: i64,
    pub data: TypedData,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TypedData {
    pub object: TypedPaymentIntent,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TypedPaymentIntent {
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub livemode: bool,
    /// An ID, an expanded customer or null: only whether it is null matters here.
    pub customer: Option<serde::de::IgnoredAny>,
    pub created: i64,
}

impl TypedEvent {
    /// Decode the fields from an event; `None` when one is missing or of another type.
    pub fn decode(event: &Json) -> Option<TypedEvent> {
        TypedEvent::deserialize(event).ok()
    }
}

fn object(e: &Json) -> &Json {
    &e["data"]["object"]
}

pub const CONDITIONS: [Condition; 6] = [
    Condition {
        name: "int_eq",
        flow: "event.pending_webhooks == 1",
        cel: "event.pending_webhooks == 1",
        rhai: "event.pending_webhooks == 1",
        closure: |e| e["pending_webhooks"].as_i64() == Some(1),
        typed: |e| e.pending_webhooks == 1,
    },
    Condition {
        name: "string_eq",
        flow: "status == \"succeeded\"",
        cel: "event.data.object.status == 'succeeded'",
        rhai: "event.data.object.status == \"succeeded\"",
        closure: |e| object(e)["status"].as_str() == Some("succeeded"),
        typed: |e| e.data.object.status == "succeeded",
    },
    Condition {
        name: "range",
        flow: "created >= 1764000000 and created < 1765000000",
        cel: "event.data.object.created >= 1764000000 && event.data.object.created < 1765000000",
        rhai: "event.data.object.created >= 1764000000 && event.data.object.created < 1765000000",
        closure: |e| {
            object(e)["created"]
                .as_i64()
                .is_some_and(|c| (1_764_000_000..1_765_000_000).contains(&c))
        },
        typed: |e| (1_764_000_000..1_765_000_000).contains(&e.data.object.created),
    },
    Condition {
        name: "in_set",
        flow: "currency in [USD, EUR, GBP]",
        cel: "event.data.object.currency in ['usd', 'eur', 'gbp']",
        rhai: "event.data.object.currency in [\"usd\", \"eur\", \"gbp\"]",
        closure: |e| matches!(object(e)["currency"].as_str(), Some("usd" | "eur" | "gbp")),
        typed: |e| matches!(e.data.object.currency.as_str(), "usd" | "eur" | "gbp"),
    },
    Condition {
        name: "and3",
        flow: "status == \"succeeded\" and livemode == false and customer != null",
        cel: "event.data.object.status == 'succeeded' && event.data.object.livemode == false && event.data.object.customer != null",
        rhai: "event.data.object.status == \"succeeded\" && event.data.object.livemode == false && event.data.object.customer != ()",
        closure: |e| {
            let o = object(e);
            o["status"].as_str() == Some("succeeded")
                && o["livemode"].as_bool() == Some(false)
                && !o["customer"].is_null()
        },
        typed: |e| {
            let o = &e.data.object;
            o.status == "succeeded" && !o.livemode && o.customer.is_some()
        },
    },
    Condition {
        name: "money_gt",
        flow: "amount > 1000 USD",
        cel: "event.data.object.currency == 'usd' && event.data.object.amount > 100000",
        rhai: "event.data.object.currency == \"usd\" && event.data.object.amount > 100000",
        closure: |e| {
            let o = object(e);
            o["currency"].as_str() == Some("usd") && o["amount"].as_i64().is_some_and(|a| a > 100_000)
        },
        typed: |e| e.data.object.currency == "usd" && e.data.object.amount > 100_000,
    },
];

/// A small deterministic generator (xorshift), so that every run sees the same data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn id(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut s = String::with_capacity(prefix.len() + len);
        s.push_str(prefix);
        for _ in 0..len {
            s.push(ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char);
        }
        s
    }
}

/// The event every condition is timed on: the first generated one in US dollars, so
/// that `amount > 1000 USD` compares amounts (money in another currency is left to
/// the VM) and `currency in [USD, EUR, GBP]` holds.
pub fn timed_event() -> Json {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..)
        .map(|n| payment_event(&mut rng, n))
        .find(|e| e["data"]["object"]["currency"] == "usd")
        .unwrap_or(Json::Null)
}

/// A realistic `payment_intent.succeeded` event of about 1 KB, as Stripe sends it:
/// amounts spread over four orders of magnitude, mostly USD, a few guests (no
/// customer) and a few expanded customers.
pub fn payment_event(rng: &mut Rng, n: u64) -> Json {
    let currency = match rng.below(100) {
        0..=69 => "usd",
        70..=79 => "eur",
        80..=86 => "gbp",
        87..=92 => "cad",
        93..=96 => "jpy",
        _ => "aud",
    };
    // Log-uniform from 1.00 to 10,000.00 (in minor units).
    let exp = rng.below(4_000) as f64 / 1_000.0 + 2.0;
    let amount = 10f64.powf(exp) as i64;
    let created = 1_764_000_000 + rng.below(1_000_000) as i64;
    let pi = rng.id("pi_3Q", 20);
    let customer = match rng.below(100) {
        0..=9 => Json::Null,
        10..=12 => json!({
            "id": rng.id("cus_", 14), "object": "customer", "email": "jenny.rosen@example.com",
            "name": "Jenny Rosen", "metadata": {}
        }),
        _ => json!(rng.id("cus_", 14)),
    };
    json!({
        "id": rng.id("evt_3Q", 20),
        "object": "event",
        "api_version": "2026-07-29.dahlia",
        "created": created + 10,
        "data": {
            "object": {
                "id": pi,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount,
                "application": null,
                "automatic_payment_methods": {"allow_redirects": "always", "enabled": true},
                "canceled_at": null,
                "capture_method": "automatic_async",
                "client_secret": format!("{pi}_secret_{}", rng.id("", 12)),
                "confirmation_method": "automatic",
                "created": created,
                "currency": currency,
                "customer": customer,
                "description": format!("Order #{}", 10_000 + n),
                "last_payment_error": null,
                "latest_charge": rng.id("ch_3Q", 20),
                "livemode": rng.below(10) != 0,
                "metadata": {"order_id": (10_000 + n).to_string(), "channel": if rng.below(3) == 0 { "mobile" } else { "web" }},
                "next_action": null,
                "payment_method": rng.id("pm_1Q", 20),
                "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
                "payment_method_types": ["card", "link"],
                "receipt_email": if rng.below(2) == 0 { json!("jenny.rosen@example.com") } else { Json::Null },
                "review": null,
                "shipping": null,
                "statement_descriptor": null,
                "status": "succeeded",
                "transfer_group": null
            }
        },
        "livemode": false,
        "pending_webhooks": 1 + rng.below(2),
        "request": {"id": rng.id("req_", 14), "idempotency_key": null},
        "type": "payment_intent.succeeded"
    })
}

/// A flow file of `n` workflows, each with its own name, over several triggers and
/// shapes of condition and body.
pub fn many_workflows(n: usize) -> String {
    let mut s = String::with_capacity(n * 260);
    for i in 0..n {
        let w = match i % 4 {
            0 => format!(
                "workflow \"Tag valuable customers {i}\"\non payment_intent.succeeded\nwhen amount > {} USD {{\n    email to: \"fulfillment@example.com\",\n          body: \"Please add a note.\",\n          append: {{ \"Customer ID\": customer, \"Amount\": amount }}\n    if amount > {} USD {{\n        update customer.metadata.Tier = \"VIP\"\n    }}\n}}\n\n",
                1000 + i,
                20_000 + i
            ),
            1 => format!(
                "workflow \"Personalize orders {i}\"\non payment_intent.succeeded\nwhen amount > 500 USD and currency in [USD, EUR] and status == \"succeeded\" {{\n    email to: \"fulfillment@example.com\",\n          subject: \"Personalize order {{metadata.order_id}}\",\n          body: \"A {{amount}} order just came in (#{i}).\"\n}}\n\n"
            ),
            2 => format!(
                "workflow \"Fraud warnings {i}\"\non radar.early_fraud_warning.created {{\n    let ch = retrieve charge\n    if ch.amount < 15 USD {{\n        refund charge: ch, amount: ch.amount, reason: \"fraudulent\"\n    }} else {{\n        email to: \"risk@example.com\", body: \"Check {{ch.id}} ({i}).\"\n    }}\n}}\n\n"
            ),
            _ => format!(
                "workflow \"Refund notes {i}\"\non charge.refunded\nwhen amount_refunded > 0 USD and customer != null {{\n    email to: \"ops@example.com\", body: \"Refunded {{amount_refunded}} of {{amount}} ({i}).\"\n}}\n\n"
            ),
        };
        s.push_str(&w);
    }
    s
}
