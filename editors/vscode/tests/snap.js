// Snapshot test of the grammar over the real examples: examples/*.flow and
// stdlib/templates/*.flow are tokenized and compared with the snapshots committed in
// tests/snap/<folder>/<file>.flow.snap. vscode-tmgrammar-snap keeps each snapshot next
// to its source, so the sources are copied into a temporary folder beside their
// snapshots and the tool runs there. `--updateSnapshot` (npm run snap:update) writes the
// new snapshots back; without it a missing or left-over snapshot is an error.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const here = __dirname;
const root = path.resolve(here, '..', '..', '..');
const snapDir = path.join(here, 'snap');
const grammar = path.resolve(here, '..', 'syntaxes', 'flow.tmLanguage.json');
const tool = require.resolve('vscode-tmgrammar-test/dist/snapshot.js');
const update = process.argv.includes('--updateSnapshot') || process.argv.includes('-u');

const sources = {
  examples: path.join(root, 'examples'),
  templates: path.join(root, 'stdlib', 'templates'),
};

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flow-grammar-snap-'));
let failed = false;
try {
  for (const [name, dir] of Object.entries(sources)) {
    const flows = fs.readdirSync(dir).filter((f) => f.endsWith('.flow')).sort();
    if (flows.length === 0) {
      console.error(`error: no .flow files in ${dir}`);
      failed = true;
      continue;
    }
    const into = path.join(work, name);
    const committed = path.join(snapDir, name);
    fs.mkdirSync(into, { recursive: true });
    for (const f of flows) {
      fs.copyFileSync(path.join(dir, f), path.join(into, f));
      const snap = path.join(committed, f + '.snap');
      if (fs.existsSync(snap)) {
        fs.copyFileSync(snap, path.join(into, f + '.snap'));
      } else if (!update) {
        console.error(`error: no snapshot ${path.relative(process.cwd(), snap)} (run npm run snap:update)`);
        failed = true;
      }
    }
    if (fs.existsSync(committed)) {
      for (const s of fs.readdirSync(committed)) {
        if (s.endsWith('.snap') && !flows.includes(s.slice(0, -'.snap'.length))) {
          if (update) {
            fs.rmSync(path.join(committed, s));
          } else {
            console.error(`error: snapshot ${s} in tests/snap/${name} has no source (run npm run snap:update)`);
            failed = true;
          }
        }
      }
    }
    const args = [tool, '--grammar', grammar, path.join(into, '*.flow')];
    if (update) args.push('--updateSnapshot');
    const run = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (run.status !== 0) {
      failed = true;
    }
    if (update) {
      fs.mkdirSync(committed, { recursive: true });
      for (const f of flows) {
        fs.copyFileSync(path.join(into, f + '.snap'), path.join(committed, f + '.snap'));
      }
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
if (failed) {
  console.error('grammar snapshots: FAILED');
  process.exit(1);
}
console.log('grammar snapshots: ok');
