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
}
