//! `flow serve`'s settings: the `[serve]` section of `flow.toml` and the environment.
//!
//! ```toml
//! [serve]
//! listen = "127.0.0.1:8787"   # --listen wins
//! workers = 8                 # threads that execute runs
//! tolerance = 300             # seconds a signature stays valid; 0: no time check
//! webhook_secret = "whsec_…"  # STRIPE_WEBHOOK_SECRET wins; better kept out of files
//! max_connections = 1024      # open at once; more are closed unread
//! max_connections_per_peer = 128  # from one address; raise it behind a proxy
//! schedule_catch_up = "24h"   # slots missed while stopped, run on start; or "none"
//! database_url = "postgres://…"  # a run log shared by several servers; --db wins
//! lease = "30s"               # in a shared run log: a stopped server's runs are taken over after it
//! ```

use std::path::{Path, PathBuf};

use flow_project::settings::Settings;

use crate::signature::{Secrets, DEFAULT_TOLERANCE};

/// The environment variable holding the endpoint's signing secret.
pub const SECRET_ENV: &str = "STRIPE_WEBHOOK_SECRET";

#[derive(Debug, Default)]
pub struct ServeConfig {
    pub listen: Option<String>,
    pub workers: Option<usize>,
    pub max_connections: Option<usize>,
    pub max_connections_per_peer: Option<usize>,
    pub tolerance: u64,
    pub secrets: Secrets,
    /// Where the secret came from: `STRIPE_WEBHOOK_SECRET` or the file's path.
    pub secret_source: Option<String>,
    pub path: Option<PathBuf>,
}

/// The environment variable holding the token of `POST /invoke/NAME`; unset, the
/// endpoint is off.
pub const INVOKE_TOKEN_ENV: &str = "FLOW_INVOKE_TOKEN";

/// Which schedule slots missed while the server was stopped are run when it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatchUp {
    /// None: they are skipped (and the log says which).
    None,
    /// Those of the last this many seconds, once each, in order; older ones skipped.
    Within(i64),
}

/// The default policy: the slots of the last 24 hours.
pub const DEFAULT_CATCH_UP: CatchUp = CatchUp::Within(86_400);

impl CatchUp {
    pub fn describe(self) -> String {
        match self {
            CatchUp::None => "none".into(),
            CatchUp::Within(s) => format!("slots of the last {}", duration_text(s)),
        }
    }
}

/// `90s`, `15m`, `24h`, `7d`; the largest unit that divides it.
pub fn duration_text(secs: i64) -> String {
    for (unit, n) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs != 0 && secs % n == 0 {
            return format!("{}{unit}", secs / n);
        }
    }
    format!("{secs}s")
}

/// A duration such as `"30s"`, `"90m"`, `"24h"` or `"7d"`, in seconds; `None` when it
/// is not one.
fn duration_secs(t: &str) -> Option<i128> {
    let per = match t.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = digits.parse().ok()?;
    Some(i128::from(n) * per)
}

/// `schedule_catch_up`: `"none"`, or a duration (`"24h"`, `"90m"`, `"7d"`, `"30s"`).
pub fn parse_catch_up(text: &str) -> Result<CatchUp, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(CatchUp::None);
    }
    // More than ten years back is not a policy but a mistake.
    match duration_secs(t) {
        None => Err(format!("`{t}` is not a duration or `none`")),
        Some(0) => Ok(CatchUp::None),
        Some(s) if s <= 10 * 366 * 86_400 => Ok(CatchUp::Within(s as i64)),
        Some(_) => Err(format!("`{t}` is longer than ten years")),
    }
}

/// The catch-up policy of the settings (the default when not set).
pub fn catch_up(settings: &Settings) -> Result<CatchUp, String> {
    match &settings.serve.schedule_catch_up {
        None => Ok(DEFAULT_CATCH_UP),
        Some(t) => parse_catch_up(t),
    }
}

/// The environment variable naming the run log (a file, or `postgres://…`); `--db`
/// wins over it, and it over `database_url` in `flow.toml`.
pub const DATABASE_ENV: &str = "FLOW_DATABASE_URL";

/// Where the run log is: `--db`, else `FLOW_DATABASE_URL`, else `database_url` under
/// `[serve]`, else `.flow/runs.db` in `base`.
pub fn run_log(
    given: Option<&str>,
    env: Option<String>,
    settings: &Settings,
    base: &Path,
) -> crate::runlog::Location {
    use crate::runlog::Location;
    given
        .map(str::to_string)
        .or(env)
        .or_else(|| settings.serve.database_url.clone())
        .filter(|t| !t.trim().is_empty())
        .map(|t| Location::parse(&t))
        .unwrap_or_else(|| Location::default_in(base))
}

/// `lease`: how long a server holds a run of a shared run log without renewing it
/// (`"30s"` by default; from 2 seconds to an hour).
pub fn lease(settings: &Settings) -> Result<std::time::Duration, String> {
    let Some(t) = &settings.serve.lease else {
        return Ok(crate::runlog::DEFAULT_LEASE);
    };
    let t = t.trim();
    match duration_secs(t) {
        Some(s) if (2..=3_600).contains(&s) => Ok(std::time::Duration::from_secs(s as u64)),
        Some(_) => Err(format!("`{t}` is not between 2s and 1h")),
        None => Err(format!("`{t}` is not a duration")),
    }
}

/// The folder the flows given as `paths` live in: the first folder, or the folder of
/// the first file.
pub fn base_dir(paths: &[PathBuf]) -> PathBuf {
    let Some(first) = paths.first() else {
        return PathBuf::from(".");
    };
    if first.is_dir() {
        return first.clone();
    }
    match first.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The settings of the flows' folder (the `flow.toml` every command finds for it),
/// then the environment. `env_secret` is the value of `STRIPE_WEBHOOK_SECRET`, if set.
pub fn load(base: &Path, env_secret: Option<String>) -> Result<ServeConfig, String> {
    let settings = flow_project::settings::load_for(Some(base))?;
    Ok(from_settings(&settings, env_secret))
}

/// [`load`] from settings already read.
pub fn from_settings(settings: &Settings, env_secret: Option<String>) -> ServeConfig {
    let s = &settings.serve;
    let mut cfg = ServeConfig {
        listen: s.listen.clone(),
        workers: s.workers,
        max_connections: s.max_connections,
        max_connections_per_peer: s.max_connections_per_peer,
        tolerance: s.tolerance.unwrap_or(DEFAULT_TOLERANCE),
        path: settings.path.clone(),
        ..ServeConfig::default()
    };
    if let (Some(secret), Some(path)) = (&s.webhook_secret, &settings.path) {
        cfg.secrets = Secrets::parse(secret);
        cfg.secret_source = Some(path.display().to_string());
    }
    if let Some(secret) = env_secret.filter(|s| !s.trim().is_empty()) {
        cfg.secrets = Secrets::parse(&secret);
        cfg.secret_source = Some(SECRET_ENV.to_string());
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_up_policies() {
        assert_eq!(parse_catch_up("24h"), Ok(CatchUp::Within(86_400)));
        assert_eq!(parse_catch_up(" 90m "), Ok(CatchUp::Within(5_400)));
        assert_eq!(parse_catch_up("7d"), Ok(CatchUp::Within(604_800)));
        assert_eq!(parse_catch_up("none"), Ok(CatchUp::None));
        assert_eq!(parse_catch_up("0s"), Ok(CatchUp::None));
        for bad in [
            "",
            "h",
            "24",
            "24 h",
            "-1h",
            "1w",
            "99999999999999999999d",
            "5000d",
        ] {
            assert!(parse_catch_up(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(duration_text(86_400), "1d");
        assert_eq!(duration_text(5_400), "90m");
    }

    #[test]
    fn environment_wins_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("flow.toml");
        std::fs::write(
            &p,
            "[serve]\nwebhook_secret = \"whsec_file\"\ntolerance = 60\n",
        )
        .unwrap();
        let c = load(dir.path(), None).unwrap();
        assert_eq!(c.secrets.len(), 1);
        assert_eq!(c.tolerance, 60);
        assert_eq!(
            c.secret_source.as_deref(),
            Some(p.display().to_string().as_str())
        );
        let c = load(dir.path(), Some("whsec_a, whsec_b".into())).unwrap();
        assert_eq!(c.secrets.len(), 2);
        assert_eq!(c.secret_source.as_deref(), Some(SECRET_ENV));
        std::fs::write(&p, "[serve]\nsecret = \"x\"\n").unwrap();
        assert!(load(dir.path(), None).is_err());
    }

    #[test]
    fn the_run_log_is_the_flag_then_the_environment_then_the_file() {
        use crate::runlog::Location;
        let mut settings = Settings::default();
        let base = Path::new("flows");
        assert_eq!(
            run_log(None, None, &settings, base),
            Location::File(PathBuf::from("flows/.flow/runs.db"))
        );
        settings.serve.database_url = Some("postgres://db/file".into());
        assert_eq!(
            run_log(None, None, &settings, base),
            Location::Postgres("postgres://db/file".into())
        );
        let env = Some("postgresql://db/env".to_string());
        assert_eq!(
            run_log(None, env.clone(), &settings, base),
            Location::Postgres("postgresql://db/env".into())
        );
        assert_eq!(
            run_log(Some("runs.db"), env, &settings, base),
            Location::File(PathBuf::from("runs.db"))
        );
    }

    #[test]
    fn leases_are_durations_between_two_seconds_and_an_hour() {
        let mut settings = Settings::default();
        assert_eq!(lease(&settings), Ok(crate::runlog::DEFAULT_LEASE));
        settings.serve.lease = Some("5s".into());
        assert_eq!(lease(&settings), Ok(std::time::Duration::from_secs(5)));
        settings.serve.lease = Some("1s".into());
        assert_eq!(
            lease(&settings),
            Err("`1s` is not between 2s and 1h".into())
        );
        settings.serve.lease = Some("none".into());
        assert_eq!(lease(&settings), Err("`none` is not a duration".into()));
        settings.serve.lease = Some("2h".into());
        assert!(lease(&settings).is_err());
    }
}
