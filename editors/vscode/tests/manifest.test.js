// Checks of the extension's manifest: the files it names exist and agree.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const dir = path.resolve(__dirname, '..');
const readJson = (rel) => JSON.parse(fs.readFileSync(path.join(dir, rel), 'utf8'));
const manifest = readJson('package.json');

test('main points to an existing file', () => {
  assert.ok(manifest.main, 'package.json has no main');
  assert.ok(fs.existsSync(path.join(dir, manifest.main)), `${manifest.main} does not exist`);
});

test('the flow language is contributed for .flow files', () => {
  const languages = manifest.contributes.languages;
  const flow = languages.find((l) => l.id === 'flow');
  assert.ok(flow, 'no language flow');
  assert.deepStrictEqual(flow.extensions, ['.flow']);
  assert.ok(manifest.activationEvents.includes('onLanguage:flow'));
});

test('the language configuration exists and parses', () => {
  for (const language of manifest.contributes.languages) {
    const config = readJson(language.configuration);
    assert.strictEqual(config.comments.lineComment, '//');
    assert.ok(Array.isArray(config.brackets) && config.brackets.length >= 3);
    assert.ok(config.autoClosingPairs.some((p) => p.open === '"'));
    for (const rule of ['increaseIndentPattern', 'decreaseIndentPattern']) {
      new RegExp(config.indentationRules[rule]);
    }
    new RegExp(config.wordPattern);
  }
});

test('each grammar exists and its scopeName matches the manifest', () => {
  assert.ok(manifest.contributes.grammars.length > 0);
  for (const grammar of manifest.contributes.grammars) {
    const file = path.join(dir, grammar.path);
    assert.ok(fs.existsSync(file), `${grammar.path} does not exist`);
    const content = readJson(grammar.path);
    assert.strictEqual(content.scopeName, grammar.scopeName);
    assert.strictEqual(grammar.scopeName, 'source.flow');
    assert.ok(manifest.contributes.languages.some((l) => l.id === grammar.language));
  }
});

test('every rule the grammar includes is defined', () => {
  for (const grammar of manifest.contributes.grammars) {
    const content = readJson(grammar.path);
    const names = new Set(Object.keys(content.repository));
    const walk = (node) => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node && typeof node === 'object') {
        if (typeof node.include === 'string' && node.include.startsWith('#')) {
          assert.ok(names.has(node.include.slice(1)), `undefined rule ${node.include}`);
        }
        Object.values(node).forEach(walk);
      }
    };
    walk(content);
  }
});

test('the settings are declared', () => {
  const props = manifest.contributes.configuration.properties;
  assert.strictEqual(props['flow.path'].default, 'flow');
  assert.deepStrictEqual(props['flow.trace.server'].enum, ['off', 'messages', 'verbose']);
});

test('vscode-languageclient is a dependency', () => {
  assert.match(manifest.dependencies['vscode-languageclient'], /^\^9\./);
});
