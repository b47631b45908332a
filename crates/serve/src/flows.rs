//! The workflows a server runs: found in the given files and folders, each file
//! checked before it is loaded, each workflow identified by a version (a hash of the
//! canonical form of its compiled program and of the settings it was checked with).
//!
//! An edit that only touches comments or layout builds the file again to the same
//! version: nothing new is recorded, and runs go on at that version.
//!
//! On a reload, only files whose content (or `flow.toml`) changed are built again; a
//! file with errors is refused and its previous version stays loaded.
//!
//! A changed file is built only once it is stable: its content was the same at the
//! previous look, so a save being written is never loaded half-way (a forced reload,
//! on SIGHUP, builds at once). A file that served workflows and now holds none (an
//! empty save, or only comments left) is refused like a broken one: deleting the file
//! is how its workflows are removed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use super::runlog::{Candidate, VersionRow};
use flow_batch::Decoder;
use flow_diagnostics::{self as diagnostics, Diagnostic, Severity};
use flow_program::Program;
use flow_project::settings::{self, Settings};
use flow_syntax::SourceFile;
use flow_vm::index::Index;
use flow_vm::{Event, SlotFrame};

/// One loaded workflow at one version.
#[derive(Debug)]
pub struct Workflow {
    pub name: String,
    pub trigger: String,
    pub version: String,
    pub program: Program,
    pub source: Arc<SourceFile>,
    pub path: PathBuf,
    /// The settings it was checked with, as `flow.toml` text.
    pub settings: String,
}

impl Workflow {
    pub fn version_row(&self) -> VersionRow {
        VersionRow {
            hash: self.version.clone(),
            workflow: self.name.clone(),
            trigger: self.trigger.clone(),
            path: self.path.display().to_string(),
            source: self.source.text.clone(),
            settings: self.settings.clone(),
        }
    }
}

/// The `[business]` settings as `flow.toml` text, to store beside a version.
pub fn settings_text(s: &Settings) -> String {
    format!(
        "[business]\ndefault_currency = \"{}\"\ndispute_fee = \"{}\"\n",
        s.default_currency.code(),
        s.dispute_fee
    )
}

/// The version of a compiled workflow: 16 hex digits of a hash of the program's
/// canonical form ([`Program::version`]: no source positions, so an edit of only
/// comments or layout keeps the version) and of its settings.
pub fn version_of(program: &Program, settings: &str) -> String {
    program.version(settings)
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "workflow".into())
}

/// A file that was refused, with why.
#[derive(Debug)]
pub struct Refused {
    pub path: PathBuf,
    pub message: String,
    /// The diagnostics rendered as text (no colour).
    pub diagnostics: Vec<String>,
    /// The same, in colour when the terminal wants it (for a person at startup).
    pub rendered: String,
}

impl Refused {
    pub fn to_json(&self) -> Json {
        json!({"file": self.path.display().to_string(), "reason": self.message, "diagnostics": self.diagnostics})
    }
}

struct FileEntry {
    fingerprint: String,
    workflows: Vec<Arc<Workflow>>,
}

/// The workflows loaded now. Cheap to share: a reload builds a new one.
#[derive(Default)]
pub struct Registry {
    files: BTreeMap<PathBuf, FileEntry>,
    /// Files that changed and are not built yet, with the fingerprint seen at the last
    /// look: built once a look finds the same one again.
    settling: BTreeMap<PathBuf, String>,
    /// The workflows of each event type, with their shared pre-filter; made at the
    /// first event after a (re)load.
    by_trigger: OnceLock<HashMap<String, Triggered>>,
    /// What a webhook's body is decoded into: only the fields the workflows read
    /// (and the event's `id`, `object` and `type`); made at the first event after a
    /// (re)load.
    decoder: OnceLock<Decoder>,
}

/// The workflows one event type starts, in the order they are loaded, and the index
/// over their leading comparisons.
struct Triggered {
    workflows: Vec<Arc<Workflow>>,
    index: Index,
}

impl Registry {
    pub fn workflows(&self) -> impl Iterator<Item = &Arc<Workflow>> {
        self.files.values().flat_map(|f| f.workflows.iter())
    }

    /// A webhook's body as JSON, holding only what these workflows read, so that
    /// deciding its runs builds no more of it than that. It is refused for exactly
    /// the reasons, and with the messages, that `serde_json` gives for the whole body.
    pub fn decode(&self, body: &[u8]) -> serde_json::Result<Json> {
        let decoder = self
            .decoder
            .get_or_init(|| Decoder::new(self.workflows().map(|w| &w.program), None));
        decoder.decode_json(body)
    }

    pub fn len(&self) -> usize {
        self.workflows().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The workflows an event starts a run of (before activation). A workflow whose
    /// `when` is found false here is marked skipped: its run is recorded as such, and
    /// never carried out. The index answers the leading comparisons of all of them at
    /// once; a `when` with a typed form is then answered from its slots. Either
    /// answer is the VM's own (an answer that is not clean leaves the run to a
    /// worker, which reports what the VM reports).
    pub fn candidates(&self, event: &Event) -> Vec<Candidate> {
        let by_trigger = self.by_trigger.get_or_init(|| {
            let mut by: HashMap<String, Vec<Arc<Workflow>>> = HashMap::new();
            for w in self.workflows() {
                by.entry(w.trigger.clone()).or_default().push(w.clone());
            }
            by.into_iter()
                .map(|(trigger, workflows)| {
                    let programs: Vec<&Program> = workflows.iter().map(|w| &w.program).collect();
                    let index = Index::new(&programs);
                    (trigger, Triggered { workflows, index })
                })
                .collect()
        });
        let Some(triggered) = by_trigger.get(event.event_type()) else {
            return Vec::new();
        };
        let mut answers = Vec::new();
        if !triggered.index.is_empty() {
            triggered.index.answer(event, &mut Vec::new(), &mut answers);
        }
        triggered
            .workflows
            .iter()
            .enumerate()
            .map(|(i, w)| Candidate {
                workflow: w.name.clone(),
                version: w.version.clone(),
                skipped: triggered.index.skips(i, &answers) || typed_false(&w.program, event),
            })
            .collect()
    }
}

/// Whether the program's typed `when` is false for the event, from its slots.
fn typed_false(program: &Program, event: &Event) -> bool {
    if event.strict {
        return false;
    }
    program.skipping_when().is_some_and(|t| {
        flow_vm::eval_typed(t, &SlotFrame::decode(&t.layout, event)) == Some(false)
    })
}

/// What a (re)load did.
pub struct Loaded {
    pub registry: Registry,
    /// Workflows at a version not loaded before.
    pub new: Vec<Arc<Workflow>>,
    /// Names of workflows no longer in any file.
    pub removed: Vec<String>,
    pub refused: Vec<Refused>,
    /// Warnings of the files loaded, rendered.
    pub warnings: Vec<(PathBuf, Vec<String>)>,
    pub changed: bool,
    /// Some files changed and wait to be found the same at the next look.
    pub settling: bool,
}

/// Every `.flow` file in the given files and folders (folders recursively, skipping
/// hidden folders), sorted.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    flow_project::walk::flow_files(paths)
}

/// The content a file's build depends on: its text and its `flow.toml`.
fn fingerprint(path: &Path) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    if let Some(toml) = settings::find(Some(path)) {
        h.update(b"\0");
        h.update(toml.display().to_string().as_bytes());
        h.update(b"\0");
        h.update(std::fs::read(&toml).unwrap_or_default());
    }
    let fp = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok((fp, text))
}

fn refused(path: &Path, message: impl Into<String>) -> Refused {
    let message = message.into();
    Refused {
        path: path.to_path_buf(),
        rendered: format!("error: {}: {message}\n", path.display()),
        diagnostics: Vec::new(),
        message,
    }
}

/// Build one file: its workflows, or why it is refused. `color` is for `rendered`.
fn build_file(
    path: &Path,
    text: String,
    color: bool,
) -> Result<(Vec<Workflow>, Vec<String>), Refused> {
    let settings = settings::load_for(Some(path))
        .map_err(|e| refused(path, format!("invalid settings: {e}")))?;
    let source = SourceFile::new(path.display().to_string(), text);
    let build = flow_project::build(&source, &settings, &stem(path));
    let shown: Vec<&Diagnostic> = build
        .diagnostics
        .iter()
        .filter(|d| d.severity != Severity::Note)
        .collect();
    let plain: Vec<String> = shown
        .iter()
        .map(|d| diagnostics::render(d, &source, false))
        .collect();
    if build.has_errors() {
        let errors = shown.iter().filter(|d| d.is_error()).count();
        return Err(Refused {
            path: path.to_path_buf(),
            message: format!(
                "{errors} error{} (see `flow check {}`)",
                if errors == 1 { "" } else { "s" },
                path.display()
            ),
            rendered: shown
                .iter()
                .map(|d| diagnostics::render(d, &source, color))
                .collect(),
            diagnostics: plain,
        });
    }
    let settings = settings_text(&settings);
    let workflows = build
        .compiled
        .programs
        .into_iter()
        .map(|program| Workflow {
            name: program.name.clone(),
            trigger: program.trigger.clone(),
            version: version_of(&program, &settings),
            program,
            source: source.clone(),
            path: path.to_path_buf(),
            settings: settings.clone(),
        })
        .collect();
    Ok((workflows, plain))
}

/// Load the files again, keeping what did not change and the previous version of
/// every file that is refused. A changed file is built once it is stable (the same at
/// two looks in a row); until then it stays as it was. `force` builds every file
/// again, changed or not, stable or not.
pub fn reload(paths: &[PathBuf], current: &Registry, force: bool, color: bool) -> Loaded {
    let mut out = Loaded {
        registry: Registry::default(),
        new: Vec::new(),
        removed: Vec::new(),
        refused: Vec::new(),
        warnings: Vec::new(),
        changed: false,
        settling: false,
    };
    let files = match discover(paths) {
        Ok(f) => f,
        Err(e) => {
            // A folder went away: keep everything as it is.
            out.refused.push(refused(Path::new(""), e));
            out.registry.files = current
                .files
                .iter()
                .map(|(p, f)| {
                    (
                        p.clone(),
                        FileEntry {
                            fingerprint: f.fingerprint.clone(),
                            workflows: f.workflows.clone(),
                        },
                    )
                })
                .collect();
            return out;
        }
    };
    // Files that did not change first, so that their names are taken.
    let mut names: HashMap<String, PathBuf> = HashMap::new();
    let mut changed = Vec::new();
    for path in &files {
        match fingerprint(path) {
            Ok((fp, text)) => match current.files.get(path) {
                Some(entry) if entry.fingerprint == fp && !force => {
                    for w in &entry.workflows {
                        names.insert(w.name.clone(), path.clone());
                    }
                    out.registry.files.insert(
                        path.clone(),
                        FileEntry {
                            fingerprint: fp,
                            workflows: entry.workflows.clone(),
                        },
                    );
                }
                _ if !force && current.settling.get(path) != Some(&fp) => {
                    // Changed since the last look (or first seen changed now): wait
                    // for the next look, keeping what the file served.
                    out.settling = true;
                    out.changed = true;
                    out.registry.settling.insert(path.clone(), fp);
                    if let Some(entry) = current.files.get(path) {
                        for w in &entry.workflows {
                            names.insert(w.name.clone(), path.clone());
                        }
                        out.registry.files.insert(
                            path.clone(),
                            FileEntry {
                                fingerprint: entry.fingerprint.clone(),
                                workflows: entry.workflows.clone(),
                            },
                        );
                    }
                }
                _ => changed.push((path.clone(), fp, text)),
            },
            Err(e) => {
                out.refused.push(refused(path, e));
                keep_previous(current, path, "", &mut out.registry, &mut names);
            }
        }
    }
    for (path, fp, text) in changed {
        out.changed = true;
        match build_file(&path, text, color) {
            Ok((workflows, _))
                if workflows.is_empty()
                    && current
                        .files
                        .get(&path)
                        .is_some_and(|f| !f.workflows.is_empty()) =>
            {
                out.refused.push(refused(
                    &path,
                    "it holds no workflow now (an empty or unfinished save?); to stop serving its workflows, delete the file",
                ));
                keep_previous(current, &path, &fp, &mut out.registry, &mut names);
            }
            Ok((workflows, warnings)) => {
                let clash = workflows
                    .iter()
                    .find_map(|w| names.get(&w.name).map(|other| (w.name.clone(), other)));
                if let Some((name, other)) = clash {
                    out.refused.push(refused(
                        &path,
                        format!(
                            "a workflow named \"{name}\" is already loaded from {}; workflow names are unique across the files served",
                            other.display()
                        ),
                    ));
                    keep_previous(current, &path, &fp, &mut out.registry, &mut names);
                    continue;
                }
                if !warnings.is_empty() {
                    out.warnings.push((path.clone(), warnings));
                }
                let known: BTreeSet<&str> = current
                    .files
                    .get(&path)
                    .map(|f| f.workflows.iter().map(|w| w.version.as_str()).collect())
                    .unwrap_or_default();
                let workflows: Vec<Arc<Workflow>> = workflows.into_iter().map(Arc::new).collect();
                for w in &workflows {
                    names.insert(w.name.clone(), path.clone());
                    if !known.contains(w.version.as_str()) {
                        out.new.push(w.clone());
                    }
                }
                out.registry.files.insert(
                    path,
                    FileEntry {
                        fingerprint: fp,
                        workflows,
                    },
                );
            }
            Err(r) => {
                out.refused.push(r);
                keep_previous(current, &path, &fp, &mut out.registry, &mut names);
            }
        }
    }
    let now: BTreeSet<&str> = out.registry.workflows().map(|w| w.name.as_str()).collect();
    for w in current.workflows() {
        if !now.contains(w.name.as_str()) {
            out.removed.push(w.name.clone());
            out.changed = true;
        }
    }
    out
}

/// Keep the workflows a file had before it was refused. The refused content's
/// fingerprint is kept too, so the same content is not built (and refused) again.
fn keep_previous(
    current: &Registry,
    path: &Path,
    fingerprint: &str,
    registry: &mut Registry,
    names: &mut HashMap<String, PathBuf>,
) {
    let workflows = current
        .files
        .get(path)
        .map(|e| e.workflows.clone())
        .unwrap_or_default();
    for w in &workflows {
        names.insert(w.name.clone(), path.to_path_buf());
    }
    registry.files.insert(
        path.to_path_buf(),
        FileEntry {
            fingerprint: fingerprint.to_string(),
            workflows,
        },
    );
}

/// Every version a server has seen, by hash: those loaded, and those built again
/// from the run log for runs recorded by an earlier server.
#[derive(Default)]
pub struct Versions {
    map: Mutex<HashMap<String, Arc<Workflow>>>,
}

impl Versions {
    pub fn insert(&self, w: Arc<Workflow>) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(w.version.clone(), w);
        }
    }

    pub fn get(&self, hash: &str) -> Option<Arc<Workflow>> {
        self.map.lock().ok().and_then(|m| m.get(hash).cloned())
    }
}

/// Build a stored version again. The program is the one of that version's source and
/// settings; if this build of flow compiles it differently, the new hash is reported.
pub fn rebuild(row: &VersionRow) -> Result<(Workflow, Option<String>), String> {
    let settings = settings::parse(&row.settings)
        .map_err(|e| format!("the stored settings are invalid: {e}"))?;
    let path = PathBuf::from(&row.path);
    let source = SourceFile::new(row.path.clone(), row.source.clone());
    let build = flow_project::build(&source, &settings, &stem(&path));
    if build.has_errors() {
        let first = build
            .diagnostics
            .iter()
            .find(|d| d.is_error())
            .map(|d| format!("[{}] {}", d.code, d.message))
            .unwrap_or_default();
        return Err(format!(
            "version {} of \"{}\" no longer passes the checks: {first}",
            row.hash, row.workflow
        ));
    }
    let program = build
        .compiled
        .programs
        .into_iter()
        .find(|p| p.name == row.workflow)
        .ok_or_else(|| format!("version {} has no workflow \"{}\"", row.hash, row.workflow))?;
    let version = version_of(&program, &row.settings);
    let differs = (version != row.hash).then(|| version.clone());
    Ok((
        Workflow {
            name: program.name.clone(),
            trigger: program.trigger.clone(),
            version: row.hash.clone(),
            program,
            source,
            path,
            settings: row.settings.clone(),
        },
        differs,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAG: &str = include_str!("../../../stdlib/templates/tag_valuable_customers.flow");
    const TAG_NAME: &str = "Tag valuable customers";

    fn look(dir: &Path, current: &Registry, force: bool) -> Loaded {
        reload(&[dir.to_path_buf()], current, force, false)
    }

    fn versions(r: &Registry) -> Vec<String> {
        r.workflows().map(|w| w.version.clone()).collect()
    }

    fn reasons(l: &Loaded) -> Vec<String> {
        l.refused.iter().map(|r| r.message.clone()).collect()
    }

    #[test]
    fn a_body_decodes_to_the_fields_read_with_serdes_answers_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tag.flow"), TAG).unwrap();
        let more = "workflow \"Euros\"\non payment_intent.succeeded\nwhen currency == EUR and \
                    metadata.channel == \"web\" {\n    email to: \"a@example.com\", body: \"{id}\"\n}\n";
        std::fs::write(dir.path().join("more.flow"), more).unwrap();
        let l = look(dir.path(), &Registry::default(), true);
        assert_eq!(reasons(&l), Vec::<String>::new());
        let r = &l.registry;
        assert_eq!(r.len(), 2);
        let event = |amount: &str, currency: &str, extra: &str| {
            format!(
                r#"{{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1,"data":{{"object":{{"id":"pi_1","object":"payment_intent","amount":{amount},"currency":"{currency}","customer":"cus_1","metadata":{{"channel":"web"}},"charges":{{"data":[{{"id":"ch_1","x":[1,2,{{"y":null}}]}}]}}{extra}}}}}}}"#
            )
        };
        let mut bodies: Vec<Vec<u8>> = Vec::new();
        for (amount, currency) in [
            ("50000", "usd"),
            ("250000", "usd"),
            ("9", "eur"),
            ("1e3", "usd"),
        ] {
            bodies.push(event(amount, currency, "").into_bytes());
            bodies.push(event(amount, currency, r#","currency":"gbp""#).into_bytes());
        }
        let good = bodies.len();
        for bad in [
            event("1", "usd", ",").into_bytes(),
            event("1", "usd", r#","n":01"#).into_bytes(),
            event("1", "usd", r#","s":"a\x01b""#).into_bytes(),
            event("1", "usd", r#","s":"\ud800""#).into_bytes(),
            event("1", "usd", r#","n":1e999"#).into_bytes(),
            b"{\"id\":\"evt_1\",\"s\":\"\xff\"}".to_vec(),
            b"[1,2".to_vec(),
            b"".to_vec(),
            format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes(),
        ] {
            bodies.push(bad);
        }
        for (i, body) in bodies.iter().enumerate() {
            let whole = serde_json::from_slice::<Json>(body);
            let kept = r.decode(body);
            match (whole, kept) {
                (Ok(whole), Ok(kept)) => {
                    assert!(i < good, "body {i} decoded");
                    // Less is built, and the runs are decided the same.
                    assert!(kept.to_string().len() < whole.to_string().len(), "body {i}");
                    assert!(kept["data"]["object"].get("charges").is_none(), "{kept}");
                    let whole = Event::from_json(whole, None).unwrap();
                    let kept = Event::from_json(kept, None).unwrap();
                    assert_eq!(r.candidates(&kept), r.candidates(&whole), "body {i}");
                }
                (Err(whole), Err(kept)) => {
                    assert!(i >= good, "body {i}: {whole}");
                    assert_eq!(kept.to_string(), whole.to_string(), "body {i}");
                }
                (whole, kept) => panic!("body {i}: {whole:?} against {kept:?}"),
            }
        }
        // Both ways of deciding were seen: a run skipped, and one to carry out.
        let decided: Vec<bool> = bodies[..good]
            .iter()
            .flat_map(|b| {
                let e = Event::from_json(r.decode(b).unwrap(), None).unwrap();
                r.candidates(&e).into_iter().map(|c| c.skipped)
            })
            .collect();
        assert!(
            decided.contains(&true) && decided.contains(&false),
            "{decided:?}"
        );
    }

    #[test]
    fn a_change_is_built_once_it_is_the_same_at_two_looks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tag.flow");
        std::fs::write(&path, TAG).unwrap();
        let first = look(dir.path(), &Registry::default(), true);
        assert_eq!(reasons(&first), Vec::<String>::new());
        let v1 = versions(&first.registry);
        assert_eq!(v1.len(), 1);

        // Half a save: neither built nor refused; the file serves what it served.
        std::fs::write(&path, &TAG[..TAG.len() / 2]).unwrap();
        let l = look(dir.path(), &first.registry, false);
        assert_eq!(reasons(&l), Vec::<String>::new());
        assert!(l.new.is_empty());
        assert_eq!(versions(&l.registry), v1);
        // The rest of it arrives before the next look: still waiting.
        std::fs::write(&path, TAG.replace("\"VIP\"", "\"Gold\"")).unwrap();
        let l = look(dir.path(), &l.registry, false);
        assert_eq!(reasons(&l), Vec::<String>::new());
        assert!(l.new.is_empty());
        assert_eq!(versions(&l.registry), v1);
        // The same at the next look: built.
        let l = look(dir.path(), &l.registry, false);
        assert_eq!(reasons(&l), Vec::<String>::new());
        assert_eq!(l.new.len(), 1);
        let v2 = versions(&l.registry);
        assert_ne!(v2, v1);
        // A file that appears is built once stable too.
        std::fs::write(
            dir.path().join("other.flow"),
            TAG.replace(TAG_NAME, "Other"),
        )
        .unwrap();
        let l = look(dir.path(), &l.registry, false);
        assert_eq!(l.registry.len(), 1);
        let l = look(dir.path(), &l.registry, false);
        assert_eq!(l.registry.len(), 2);
        // A forced reload builds at once.
        std::fs::write(&path, TAG).unwrap();
        let forced = look(dir.path(), &l.registry, true);
        assert_eq!(reasons(&forced), Vec::<String>::new());
        assert!(versions(&forced.registry).contains(&v1[0]));
    }

    #[test]
    fn a_file_left_without_workflows_is_refused_and_a_deleted_one_is_removed() {
        for emptied in ["", "// Nothing here yet.\n"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tag.flow");
            std::fs::write(&path, TAG).unwrap();
            let first = look(dir.path(), &Registry::default(), true);
            let v1 = versions(&first.registry);
            assert_eq!(v1.len(), 1);

            std::fs::write(&path, emptied).unwrap();
            let mut l = look(dir.path(), &first.registry, false);
            if l.refused.is_empty() {
                // Not stable yet at the first look.
                assert_eq!(versions(&l.registry), v1, "{emptied:?}");
                l = look(dir.path(), &l.registry, false);
            }
            let why = reasons(&l);
            assert_eq!(why.len(), 1, "{emptied:?}: {why:?}");
            assert!(why[0].contains("holds no workflow"), "{why:?}");
            assert!(l.removed.is_empty(), "{emptied:?}: {:?}", l.removed);
            assert_eq!(versions(&l.registry), v1, "{emptied:?}");
            // Refused once: the next look keeps it as it is, quietly.
            let l = look(dir.path(), &l.registry, false);
            assert_eq!(reasons(&l), Vec::<String>::new());
            assert_eq!(versions(&l.registry), v1);
            // A forced reload refuses it too.
            let l = look(dir.path(), &l.registry, true);
            assert_eq!(reasons(&l).len(), 1, "{emptied:?}");
            assert_eq!(versions(&l.registry), v1);

            // Deleting the file removes its workflows.
            std::fs::remove_file(&path).unwrap();
            let l = look(dir.path(), &l.registry, false);
            assert_eq!(l.removed, vec![TAG_NAME.to_string()]);
            assert!(l.registry.is_empty());
        }
        // A file that never served a workflow may hold none.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("new.flow"), "// To be written.\n").unwrap();
        let l = look(dir.path(), &Registry::default(), true);
        assert_eq!(reasons(&l), Vec::<String>::new());
    }
}
