// The Runbook extension: the language (syntaxes/, language-configuration.json) is
// declared in package.json; this starts `runbook lsp` (the command in the
// `runbook.path` setting) as the language server, over stdio.
"use strict";
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("runbook").get("path") || "runbook";
  const serverOptions = { command, args: ["lsp"], transport: TransportKind.stdio };
  const clientOptions = { documentSelector: [{ scheme: "file", language: "runbook" }] };
  client = new LanguageClient("runbook", "Runbook", serverOptions, clientOptions);
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
