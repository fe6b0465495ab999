//! Asking the person before destroying, and before a re-link, in the middle of a call
//! (2026-07-28 multi round-trip requests): the tool answers `input_required` with an
//! elicitation and a sealed `requestState`; the client asks the person and calls again with
//! the answer and the state. Nothing is kept between the two calls but what the state seals.
//!
//! The state names the user, the tool and a digest of its arguments, and lives
//! [`STATE_TTL_SECS`]; a confirmed action runs once (a KV marker per state). A client that
//! cannot elicit passes `confirm: true` once the model has asked the person itself.

use crate::core::crypto::{b64url, random_token, sha256};
use crate::core::platform::Platform;
use crate::core::record::{json_names, json_record};
use crate::core::sealed::{self, Purpose, SealError};
use crate::mcp::model::{RpcError, ToolResult, INVALID_PARAMS};
use crate::tools::Toolbox;
use serde_json::{json, Value};

/// How long the person has to answer.
pub const STATE_TTL_SECS: u64 = 300;
/// The key of our one input request.
const KEY: &str = "confirm";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// "Replace all 57 items of 'Road trip' with 12 tracks?"
    Confirm,
    /// "Sign in to Spotify again" (URL mode).
    Relink,
}

json_names!(Asked { Confirm = "Confirm", Relink = "Relink" });

/// What a `requestState` seals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    uk: String,
    tool: String,
    digest: String,
    jti: String,
    asked: Asked,
}

json_record!(Pending { uk, tool, digest, jti, asked });

/// The `confirm` argument of a destructive tool, for clients that cannot elicit. Its use is
/// explained where it matters (the server instructions, and the answer of a call without it)
/// rather than in every client's context.
pub fn confirm_prop() -> Value {
    json!({"type": "boolean"})
}

/// Whether `gate` needs the question (it does not when this call is answered or confirmed),
/// so a tool can skip the Spotify read that phrases it.
pub fn needs_question<P: Platform>(tb: &Toolbox<'_, P>, args: &Value) -> bool {
    let answered = tb.verified().is_some_and(|p| p.asked == Asked::Confirm) && answer(tb).is_some();
    !answered && (tb.client().elicit_form || args.get("confirm") != Some(&Value::Bool(true)))
}

/// The digest of a call's arguments, `confirm` aside, independent of key order.
pub fn digest(tool: &str, args: &Value) -> String {
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(o) => {
                let mut keys: Vec<&String> = o.keys().filter(|k| k.as_str() != "confirm").collect();
                keys.sort();
                Value::Array(keys.into_iter().map(|k| json!([k, canonical(&o[k])])).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    b64url(&sha256(format!("{tool}\n{}", crate::json::text(&canonical(args))).as_bytes()))
}

fn invalid(message: &str) -> RpcError {
    RpcError::new(INVALID_PARAMS, format!("requestState {message}; call the tool again without it"))
}

/// Checks a retry's `requestState` before the tool runs: one that is not ours, tampered
/// with, expired, another user's or another call's is a protocol error (-32602).
pub fn verify<P: Platform>(tb: &Toolbox<'_, P>, tool: &str, args: &Value, state: &str) -> Result<Pending, RpcError> {
    let pending: Pending = sealed::open(&tb.ctx.config.master_key, Purpose::RequestState, state, tb.ctx.now())
        .map_err(|e| match e {
            SealError::Expired => invalid("expired (the person has 5 minutes to answer)"),
            _ => invalid("is not one this server issued, or was altered"),
        })?;
    if pending.uk != tb.principal.uk.as_str() {
        return Err(invalid("belongs to another user"));
    }
    if pending.tool != tool || pending.digest != digest(tool, args) {
        return Err(invalid("belongs to another call (the tool or its arguments differ)"));
    }
    Ok(pending)
}

fn ask<P: Platform>(tb: &Toolbox<'_, P>, tool: &str, args: &Value, asked: Asked, params: Value) -> ToolResult {
    let Ok(jti) = random_token() else { return ToolResult::error("Could not ask for confirmation; try again.") };
    let pending = Pending {
        uk: tb.principal.uk.as_str().to_string(),
        tool: tool.to_string(),
        digest: digest(tool, args),
        jti,
        asked,
    };
    match sealed::seal(&tb.ctx.config.master_key, Purpose::RequestState, &pending, tb.ctx.now() + STATE_TTL_SECS) {
        Ok(state) => {
            ToolResult::input_required(json!({KEY: {"method": "elicitation/create", "params": params}}), state)
        }
        Err(_) => ToolResult::error("Could not ask for confirmation; try again."),
    }
}

/// The person's answer to our request in this retry: `accept`, `decline`, `cancel`, or
/// `None` when the retry does not carry one.
fn answer<P: Platform>(tb: &Toolbox<'_, P>) -> Option<String> {
    let retry = tb.retry();
    let action = retry.input_responses.as_ref()?.get(KEY)?.get("action")?.as_str()?;
    Some(action.to_string())
}

/// Lets a destructive call proceed (`Ok`) only once the person agreed to `question`: by an
/// accepted elicitation in a retry of this very call, or, for a client that cannot elicit,
/// by `confirm: true`. Otherwise the answer to give instead: the elicitation, or what the
/// call would do and how to confirm it.
pub async fn gate<P: Platform>(
    tb: &Toolbox<'_, P>,
    tool: &str,
    args: &Value,
    question: &str,
) -> Result<(), ToolResult> {
    let client = tb.client();
    if let Some(pending) = tb.verified().filter(|p| p.asked == Asked::Confirm) {
        match answer(tb).as_deref() {
            Some("accept") => {
                let store = tb.ctx.store();
                return match store.first_confirmed_use(&tb.principal.uk, &pending.jti, STATE_TTL_SECS * 2).await {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(ToolResult::error(
                        "Already done: this confirmation was used once. Nothing more was changed.",
                    )),
                    Err(e) => Err(ToolResult::error(format!(
                        "The token store is unavailable ({e}); nothing was changed. Try again."
                    ))),
                };
            }
            Some(_) => return Err(ToolResult::error("Nothing was changed: the person declined.")),
            // No answer to our request: ask again (MRTR: re-request what is missing).
            None => {}
        }
    }
    if client.elicit_form {
        let params = json!({"mode": "form", "message": question,
            "requestedSchema": {"type": "object", "properties": {}}});
        return Err(ask(tb, tool, args, Asked::Confirm, params));
    }
    if args.get("confirm") == Some(&Value::Bool(true)) {
        return Ok(());
    }
    Err(ToolResult::error(format!(
        "Nothing was changed yet. {question} This cannot be undone: ask the person, and only if they agree call this tool again with the same arguments and confirm: true."
    )))
}

/// For a client that can open URLs (URL-mode elicitation): asks the person to sign in to
/// Spotify again at `url` and retry, instead of failing the call. `None` otherwise.
pub fn relink<P: Platform>(tb: &Toolbox<'_, P>, tool: &str, args: &Value, url: &str, why: &str) -> Option<ToolResult> {
    if !tb.client().elicit_url {
        return None;
    }
    // A retry whose person declined gets the plain error (with the link) instead.
    if tb.verified().is_some_and(|p| p.asked == Asked::Relink) && answer(tb).is_some_and(|a| a != "accept") {
        return None;
    }
    let jti = random_token().ok()?;
    let params = json!({"mode": "url", "elicitationId": jti, "url": url,
        "message": format!("{why} Sign in to Spotify again to continue.")});
    Some(ask(tb, tool, args, Asked::Relink, params))
}
