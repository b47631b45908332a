//! localstripe and the mail server that `.ci/run` starts for the tests, and the calls
//! the tests make to them. Included by the test files that use them.
#![allow(dead_code)]

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value as Json;

pub struct Servers {
    pub stripe: String,
    pub smtp: String,
    pub mail_dir: PathBuf,
    /// For the tests' own calls to localstripe.
    pub agent: ureq::Agent,
}

pub fn reachable(host_port: &str) -> bool {
    host_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

/// The servers. These tests are `#[ignore]`d in a plain `cargo test`, so that
/// without the servers they show as ignored, never as passed; asked for with
/// `--ignored` (as `.ci/run` does, after starting the servers) they fail when a
/// server is missing.
pub fn servers(test: &str) -> Option<Servers> {
    let stripe = std::env::var("FLOW_TEST_STRIPE_API").unwrap_or_default();
    let smtp = std::env::var("FLOW_TEST_SMTP").unwrap_or_default();
    let mail_dir = std::env::var("FLOW_TEST_MAIL_DIR").unwrap_or_default();
    let problem = if stripe.is_empty() || smtp.is_empty() || mail_dir.is_empty() {
        Some(
            "FLOW_TEST_STRIPE_API, FLOW_TEST_SMTP and FLOW_TEST_MAIL_DIR are not all set"
                .to_string(),
        )
    } else if !reachable(stripe.trim_start_matches("http://").trim_end_matches('/')) {
        Some(format!("localstripe is not answering at {stripe}"))
    } else if !reachable(smtp.trim_start_matches("smtp://")) {
        Some(format!("the mail server is not answering at {smtp}"))
    } else if !Path::new(&mail_dir).is_dir() {
        Some(format!("the mail folder {mail_dir} does not exist"))
    } else {
        None
    };
    if let Some(p) = problem {
        panic!("{test}: {p} (.ci/run starts the servers of tests/servers/ and runs these tests)");
    }
    Some(Servers {
        stripe,
        smtp,
        mail_dir: PathBuf::from(mail_dir),
        agent: ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .into(),
    })
}

/// A number for names that no other test run uses.
pub fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{nanos}")
}

impl Servers {
    pub fn call(&self, method: &str, path: &str, form: &[(&str, &str)]) -> Json {
        let url = format!("{}{path}", self.stripe);
        let auth = "Bearer sk_test_localstripe";
        let result = if method == "GET" {
            self.agent.get(&url).header("Authorization", auth).call()
        } else {
            self.agent
                .post(&url)
                .header("Authorization", auth)
                .send_form(form.iter().copied())
        };
        let mut resp = result.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().expect("body");
        assert!(status < 300, "{method} {path}: {status} {body}");
        if body.trim().is_empty() {
            // localstripe's `/_config` endpoints answer with an empty body.
            return Json::Null;
        }
        serde_json::from_str(&body).expect("JSON")
    }

    /// A customer who paid `amount` (minor units) by card: the confirmed
    /// PaymentIntent as Stripe would put it in an event, and its charge's id.
    pub fn payment(
        &self,
        amount: i64,
        currency: &str,
        metadata: &[(&str, &str)],
    ) -> (Json, String) {
        let email = format!("jenny.{}@example.com", unique());
        let customer = self.call("POST", "/v1/customers", &[("email", &email)]);
        let cus = customer["id"].as_str().expect("customer id").to_string();
        let pm = self.call(
            "POST",
            "/v1/payment_methods",
            &[
                ("type", "card"),
                ("card[number]", "4242424242424242"),
                ("card[exp_month]", "12"),
                ("card[exp_year]", "2030"),
                ("card[cvc]", "123"),
            ],
        );
        let pm = pm["id"].as_str().expect("pm id").to_string();
        let amount = amount.to_string();
        let meta_keys: Vec<String> = metadata
            .iter()
            .map(|(k, _)| format!("metadata[{k}]"))
            .collect();
        let mut form = vec![
            ("amount", amount.as_str()),
            ("currency", currency),
            ("customer", cus.as_str()),
            ("payment_method", pm.as_str()),
        ];
        for (k, (_, v)) in meta_keys.iter().zip(metadata) {
            form.push((k.as_str(), v));
        }
        let pi = self.call("POST", "/v1/payment_intents", &form);
        let pi_id = pi["id"].as_str().expect("pi id").to_string();
        let confirmed = self.call("POST", &format!("/v1/payment_intents/{pi_id}/confirm"), &[]);
        assert_eq!(confirmed["status"], "succeeded", "{confirmed}");
        let charge = confirmed["charges"]["data"][0]["id"]
            .as_str()
            .or_else(|| confirmed["latest_charge"].as_str())
            .expect("a charge")
            .to_string();
        let pi = self.call("GET", &format!("/v1/payment_intents/{pi_id}"), &[]);
        (pi, charge)
    }

    /// flow.toml for these servers.
    pub fn toml(&self) -> String {
        format!(
            "[stripe]\napi_base = \"{}\"\ntimeout = 10\nmax_network_retries = 2\nmax_retry_time = 20\n\n\
             [email]\nfrom = \"Flow <flow@example.com>\"\nsmtp = \"{}\"\n",
            self.stripe, self.smtp
        )
    }

    /// The messages the mail server received that match `pred`, waiting a little
    /// for them to arrive.
    pub fn mail(&self, pred: impl Fn(&Json) -> bool) -> Vec<Json> {
        let start = Instant::now();
        loop {
            let mut found = Vec::new();
            if let Ok(entries) = std::fs::read_dir(&self.mail_dir) {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.extension().and_then(|e| e.to_str()) != Some("json") {
                        continue;
                    }
                    let Ok(text) = std::fs::read_to_string(&p) else {
                        continue;
                    };
                    let Ok(m) = serde_json::from_str::<Json>(&text) else {
                        continue;
                    };
                    if pred(&m) {
                        found.push(m);
                    }
                }
            }
            if !found.is_empty() || start.elapsed() > Duration::from_secs(5) {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
