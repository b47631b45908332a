//! `flow serve`'s settings: the `[serve]` section of `flow.toml` and the environment.
//!
//! ```toml
//! [serve]
//! listen = "127.0.0.1:8787"   # --listen wins
//! workers = 8                 # threads that execute runs
//! tolerance = 300             # seconds a signature stays valid; 0: no time check
//! webhook_secret = "whsec_…"  # STRIPE_WEBHOOK_SECRET wins; better kept out of files
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::signature::{Secrets, DEFAULT_TOLERANCE};

/// The environment variable holding the endpoint's signing secret.
pub const SECRET_ENV: &str = "STRIPE_WEBHOOK_SECRET";

#[derive(Deserialize, Default)]
struct FileFormat {
    #[serde(default)]
    serve: Option<ServeSection>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ServeSection {
    listen: Option<String>,
    workers: Option<usize>,
    tolerance: Option<u64>,
    webhook_secret: Option<String>,
}

#[derive(Debug, Default)]
pub struct ServeConfig {
    pub listen: Option<String>,
    pub workers: Option<usize>,
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

/// `flow.toml` in the flows' folder, else in the working directory.
pub fn find(base: &Path) -> Option<PathBuf> {
    [base.join("flow.toml"), PathBuf::from("flow.toml")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Read the `[serve]` section (other sections are read by `settings`), then the
/// environment. `env_secret` is the value of `STRIPE_WEBHOOK_SECRET`, if set.
pub fn load(path: Option<&Path>, env_secret: Option<String>) -> Result<ServeConfig, String> {
    let mut cfg = ServeConfig {
        tolerance: DEFAULT_TOLERANCE,
        ..ServeConfig::default()
    };
    if let Some(path) = path {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: FileFormat =
            toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
        if let Some(s) = file.serve {
            cfg.listen = s.listen;
            if s.workers == Some(0) {
                return Err(format!(
                    "{}: [serve] workers must be at least 1",
                    path.display()
                ));
            }
            cfg.workers = s.workers;
            cfg.tolerance = s.tolerance.unwrap_or(DEFAULT_TOLERANCE);
            if let Some(secret) = s.webhook_secret {
                cfg.secrets = Secrets::parse(&secret);
                cfg.secret_source = Some(path.display().to_string());
            }
        }
        cfg.path = Some(path.to_path_buf());
    }
    if let Some(secret) = env_secret.filter(|s| !s.trim().is_empty()) {
        cfg.secrets = Secrets::parse(&secret);
        cfg.secret_source = Some(SECRET_ENV.to_string());
    }
    Ok(cfg)
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
        let c = load(Some(&p), None).unwrap();
        assert_eq!(c.secrets.len(), 1);
        assert_eq!(c.tolerance, 60);
        assert_eq!(
            c.secret_source.as_deref(),
            Some(p.display().to_string().as_str())
        );
        let c = load(Some(&p), Some("whsec_a, whsec_b".into())).unwrap();
        assert_eq!(c.secrets.len(), 2);
        assert_eq!(c.secret_source.as_deref(), Some(SECRET_ENV));
        std::fs::write(&p, "[serve]\nsecret = \"x\"\n").unwrap();
        assert!(load(Some(&p), None).is_err());
    }
}
