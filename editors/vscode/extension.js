// The flow extension: starts `flow lsp` (the language server built into the `flow`
// binary) for `.flow` files. Plain JavaScript, loaded by VS Code as is.
'use strict';

const vscode = require('vscode');
const { LanguageClient, State } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** The `flow` binary to run: the `flow.path` setting, `flow` (found on PATH) by default. */
function flowCommand() {
  const configured = vscode.workspace.getConfiguration('flow').get('path');
  const path = typeof configured === 'string' ? configured.trim() : '';
  return path === '' ? 'flow' : path;
}

function startFailed(command, error) {
  const detail = (error && error.message ? error.message : String(error)).replace(/\.$/, '');
  const hint =
    error && error.code === 'ENOENT'
      ? `"${command}" was not found. Install flow, or set "flow.path" to the flow binary.`
      : `Check that "${command} lsp" runs, or set "flow.path" to the flow binary.`;
  vscode.window
    .showErrorMessage(`The flow language server could not be started: ${detail}. ${hint}`, 'Open Settings')
    .then((choice) => {
      if (choice === 'Open Settings') {
        vscode.commands.executeCommand('workbench.action.openSettings', 'flow.path');
      }
    });
}

async function startClient(context) {
  const command = flowCommand();
  const executable = { command, args: ['lsp'], options: { env: process.env } };
  const serverOptions = { run: executable, debug: executable };
  const clientOptions = {
    documentSelector: [{ language: 'flow' }],
    synchronize: {
      // flow.toml holds the settings `flow check` (and so the server) uses.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/flow.toml'),
    },
  };
  // The id `flow` ties `flow.trace.server` to this client.
  client = new LanguageClient('flow', 'flow', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (error) {
    startFailed(command, error);
    const failed = client;
    client = undefined;
    if (failed && failed.state !== State.Stopped) {
      await failed.stop().catch(() => undefined);
    }
  }
}

async function restartClient(context) {
  if (client) {
    const old = client;
    client = undefined;
    await old.stop().catch(() => undefined);
  }
  await startClient(context);
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('flow.path')) {
        restartClient(context);
      }
    }),
  );
  await startClient(context);
}

function deactivate() {
  if (!client) {
    return undefined;
  }
  const stopping = client;
  client = undefined;
  return stopping.stop();
}

module.exports = { activate, deactivate };
