//! The message loop: the initialize handshake, then each notification and request in
//! turn. Documents are synchronised incrementally (`TextDocumentSyncKind::INCREMENTAL`:
//! each change is a range and its new text, applied in order; a change without a
//! range is the whole text) and checked on open, change and save. A request that fails is answered with an LSP error; a
//! notification that fails is reported with `window/logMessage`. Nothing here writes
//! to standard output except through the connection. A formatting request the
//! formatter refuses is answered with no edits and the reason shown with
//! `window/showMessage`.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    LogMessage, Notification as _, PublishDiagnostics, ShowMessage,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    Request as _,
};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionParams, CodeActionProviderCapability,
    CompletionOptions, CompletionParams, CompletionResponse, DidChangeTextDocumentParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams,
    DocumentFormattingParams, DocumentSymbolParams, DocumentSymbolResponse, GotoDefinitionParams,
    GotoDefinitionResponse, HoverParams, HoverProviderCapability, InitializeResult,
    LogMessageParams, MessageType, OneOf, PublishDiagnosticsParams, SaveOptions,
    ServerCapabilities, ServerInfo, ShowMessageParams, TextDocumentPositionParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Uri,
};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::document::Document;
use crate::{analysis, complete, definition, formatting, hover, quickfix, symbols};

/// What the server offers.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(true),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "\"".into(), "(".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Run the server on a connection until `shutdown` and `exit`.
pub fn serve(connection: Connection) -> Result<(), String> {
    let (id, _) = connection
        .initialize_start()
        .map_err(|e| format!("flow lsp: {e}"))?;
    let result = InitializeResult {
        capabilities: capabilities(),
        server_info: Some(ServerInfo {
            name: "flow".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let result = serde_json::to_value(result).map_err(|e| e.to_string())?;
    connection
        .initialize_finish(id, result)
        .map_err(|e| format!("flow lsp: {e}"))?;
    let mut server = Server {
        connection: &connection,
        documents: HashMap::new(),
    };
    for message in &connection.receiver {
        match message {
            Message::Request(req) => {
                if connection
                    .handle_shutdown(&req)
                    .map_err(|e| format!("flow lsp: {e}"))?
                {
                    return Ok(());
                }
                server.request(req);
            }
            Message::Notification(n) => server.notification(n),
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Server<'c> {
    connection: &'c Connection,
    documents: HashMap<Uri, Document>,
}

/// A handler's failure, said to the client.
struct Failure {
    code: ErrorCode,
    message: String,
}

fn params<P: DeserializeOwned>(value: Json) -> Result<P, Failure> {
    serde_json::from_value(value).map_err(|e| Failure {
        code: ErrorCode::InvalidParams,
        message: format!("invalid parameters: {e}"),
    })
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown error".into())
}

impl Server<'_> {
    fn send(&self, message: Message) {
        // The client has gone away when this fails; the loop ends with the input.
        let _ = self.connection.sender.send(message);
    }

    fn log(&self, typ: MessageType, message: String) {
        let params = LogMessageParams { typ, message };
        self.send(Notification::new(LogMessage::METHOD.into(), params).into());
    }

    fn show(&self, typ: MessageType, message: String) {
        let params = ShowMessageParams { typ, message };
        self.send(Notification::new(ShowMessage::METHOD.into(), params).into());
    }

    fn request(&mut self, req: Request) {
        let id = req.id.clone();
        let method = req.method.clone();
        let answer = catch_unwind(AssertUnwindSafe(|| self.answer(req)));
        let response = match answer {
            Ok(Ok(value)) => Response {
                id,
                result: Some(value),
                error: None,
            },
            Ok(Err(f)) => Response::new_err(id, f.code as i32, f.message),
            Err(payload) => internal_error(id, &method, &panic_message(&*payload)),
        };
        self.send(response.into());
    }

    fn answer(&self, req: Request) -> Result<Json, Failure> {
        let value = match req.method.as_str() {
            HoverRequest::METHOD => {
                let p: HoverParams = params(req.params)?;
                let h = self.at(&p.text_document_position_params, hover::hover);
                serde_json::to_value(h.flatten())
            }
            Completion::METHOD => {
                let p: CompletionParams = params(req.params)?;
                let items = self.at(&p.text_document_position, complete::complete);
                serde_json::to_value(items.map(CompletionResponse::Array))
            }
            GotoDefinition::METHOD => {
                let p: GotoDefinitionParams = params(req.params)?;
                let l = self.at(&p.text_document_position_params, definition::definition);
                serde_json::to_value(l.flatten().map(GotoDefinitionResponse::Scalar))
            }
            CodeActionRequest::METHOD => {
                let p: CodeActionParams = params(req.params)?;
                let fixes = quickfix::quick_fixes(&p.text_document.uri, &p.context.diagnostics);
                serde_json::to_value(fixes)
            }
            Formatting::METHOD => {
                let p: DocumentFormattingParams = params(req.params)?;
                let edits = match self.documents.get(&p.text_document.uri) {
                    Some(doc) => formatting::formatting(doc).unwrap_or_else(|why| {
                        self.show(MessageType::WARNING, format!("flow fmt: {why}"));
                        Vec::new()
                    }),
                    None => Vec::new(),
                };
                serde_json::to_value(edits)
            }
            DocumentSymbolRequest::METHOD => {
                let p: DocumentSymbolParams = params(req.params)?;
                let found = self
                    .documents
                    .get(&p.text_document.uri)
                    .map(symbols::document_symbols);
                serde_json::to_value(found.map(DocumentSymbolResponse::Nested))
            }
            other => {
                return Err(Failure {
                    code: ErrorCode::MethodNotFound,
                    message: format!("flow lsp does not answer `{other}`"),
                })
            }
        };
        value.map_err(|e| Failure {
            code: ErrorCode::InternalError,
            message: e.to_string(),
        })
    }

    /// Answer a request about a position of an open document (`None` when the
    /// document is not open).
    fn at<T>(
        &self,
        p: &TextDocumentPositionParams,
        answer: impl Fn(&Document, usize) -> T,
    ) -> Option<T> {
        let doc = self.documents.get(&p.text_document.uri)?;
        Some(answer(doc, doc.offset(p.position)))
    }

    fn notification(&mut self, n: Notification) {
        let method = n.method.clone();
        let done = catch_unwind(AssertUnwindSafe(|| self.notified(n)));
        match done {
            Ok(Ok(())) => {}
            Ok(Err(f)) => self.log(MessageType::ERROR, format!("{method}: {}", f.message)),
            Err(payload) => self.log(
                MessageType::ERROR,
                format!("{method}: internal error: {}", panic_message(&*payload)),
            ),
        }
    }

    fn notified(&mut self, n: Notification) -> Result<(), Failure> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: DidOpenTextDocumentParams = params(n.params)?;
                let d = p.text_document;
                self.open(d.uri, d.text, Some(d.version));
            }
            DidChangeTextDocument::METHOD => {
                let p: DidChangeTextDocumentParams = params(n.params)?;
                let d = p.text_document;
                let mut text = match self.documents.get(&d.uri) {
                    Some(doc) => doc.text().to_string(),
                    None => String::new(),
                };
                for change in p.content_changes {
                    text = match change.range {
                        Some(range) => {
                            let doc = Document::new(d.uri.clone(), text);
                            doc.edited(range, &change.text)
                        }
                        None => change.text,
                    };
                }
                self.open(d.uri, text, Some(d.version));
            }
            DidSaveTextDocument::METHOD => {
                let p: DidSaveTextDocumentParams = params(n.params)?;
                let uri = p.text_document.uri;
                match p.text {
                    Some(text) => self.open(uri, text, None),
                    None => {
                        if let Some(doc) = self.documents.get(&uri) {
                            self.publish(analysis::publish(doc, None));
                        }
                    }
                }
            }
            DidCloseTextDocument::METHOD => {
                let p: DidCloseTextDocumentParams = params(n.params)?;
                let uri = p.text_document.uri;
                self.documents.remove(&uri);
                self.publish(PublishDiagnosticsParams {
                    uri,
                    diagnostics: Vec::new(),
                    version: None,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Take a document's new text and publish its diagnostics.
    fn open(&mut self, uri: Uri, text: String, version: Option<i32>) {
        let doc = Document::new(uri.clone(), text);
        self.publish(analysis::publish(&doc, version));
        self.documents.insert(uri, doc);
    }

    fn publish(&self, params: PublishDiagnosticsParams) {
        self.send(Notification::new(PublishDiagnostics::METHOD.into(), params).into());
    }
}

fn internal_error(id: RequestId, method: &str, message: &str) -> Response {
    Response::new_err(
        id,
        ErrorCode::InternalError as i32,
        format!("{method}: internal error: {message}"),
    )
}
