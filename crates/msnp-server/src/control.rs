//! The binary's `--control` channel: one JSON object per line on stdin, one JSON answer per
//! line on stdout (prefixed `control: `), so end-to-end tests in another process can query the
//! server's state and inject faults the way in-process tests use [`ServerHandle`] directly.
//!
//! Requests are `{"cmd": NAME, ...arguments}`; answers are `{"cmd": NAME, "ok": true, "result":
//! ...}` or `{"cmd": NAME, "ok": false, "error": "..."}`. An optional `"id"` is echoed back.

use std::time::Duration;

use serde_json::{json, Value};

use crate::ServerHandle;

/// The prefix of every answer line on stdout.
pub const ANSWER_PREFIX: &str = "control: ";

/// Longest request line accepted (bytes); longer lines are answered with an error.
pub const MAX_REQUEST: usize = 64 * 1024;

/// What the channel understands, for `{"cmd": "help"}` and error messages.
pub const COMMANDS: &[&str] = &[
    "help",
    "sessions",
    "switchboards",
    "account",
    "syn-versions",
    "close-switchboard",
    "close-switchboards",
    "drop-session",
    "send-line",
    "set-reply-delay",
    "connection-count",
];

/// Answers one request line (never panics on bad input).
pub fn answer(handle: &ServerHandle, line: &str) -> Value {
    if line.len() > MAX_REQUEST {
        return json!({"ok": false, "error": format!("request longer than {MAX_REQUEST} bytes")});
    }
    let req: Value = match serde_json::from_str(line) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return json!({"ok": false, "error": "a request is a JSON object"}),
        Err(e) => return json!({"ok": false, "error": format!("not JSON: {e}")}),
    };
    let cmd = req.get("cmd").and_then(Value::as_str).unwrap_or_default();
    let mut out = match run(handle, cmd, &req) {
        Ok(result) => json!({"cmd": cmd, "ok": true, "result": result}),
        Err(error) => json!({"cmd": cmd, "ok": false, "error": error}),
    };
    if let Some(id) = req.get("id") {
        out["id"] = id.clone();
    }
    out
}

fn arg<'a>(req: &'a Value, name: &str) -> Result<&'a str, String> {
    req.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string argument {name:?}"))
}

fn run(handle: &ServerHandle, cmd: &str, req: &Value) -> Result<Value, String> {
    Ok(match cmd {
        "help" => json!(COMMANDS),
        "sessions" => Value::Array(
            handle
                .sessions()
                .into_iter()
                .map(|s| {
                    json!({
                        "account": s.account,
                        "status": s.status.map(|st| st.to_string()),
                        "virtual": s.is_virtual,
                    })
                })
                .collect(),
        ),
        "switchboards" => Value::Array(
            handle
                .switchboards()
                .into_iter()
                .map(|b| json!({"session_id": b.session_id, "participants": b.participants}))
                .collect(),
        ),
        "account" => {
            let passport = arg(req, "passport")?;
            let data = handle
                .account(passport)
                .ok_or_else(|| format!("no account {passport:?}"))?;
            serde_json::to_value(data).map_err(|e| e.to_string())?
        }
        "syn-versions" => json!(handle.syn_versions(arg(req, "passport")?)),
        "close-switchboard" => json!(handle.close_switchboard(arg(req, "session_id")?)),
        "close-switchboards" => {
            // Every session, or only those an account takes part in.
            let only = req
                .get("passport")
                .and_then(Value::as_str)
                .map(str::to_lowercase);
            let mut closed = Vec::new();
            for b in handle.switchboards() {
                let wanted = only
                    .as_ref()
                    .is_none_or(|p| b.participants.iter().any(|m| m == p));
                if wanted && handle.close_switchboard(&b.session_id) {
                    closed.push(b.session_id);
                }
            }
            json!(closed)
        }
        "drop-session" => json!(handle.drop_session(arg(req, "passport")?)),
        "send-line" => json!(handle.send_line(arg(req, "passport")?, arg(req, "line")?)),
        "set-reply-delay" => {
            let ms = req
                .get("ms")
                .and_then(Value::as_u64)
                .ok_or("missing number argument \"ms\"")?;
            json!(handle.set_reply_delay(arg(req, "passport")?, Duration::from_millis(ms)))
        }
        "connection-count" => json!(handle.connection_count()),
        "" => return Err("missing \"cmd\"".into()),
        other => {
            return Err(format!(
                "unknown command {other:?}; known: {}",
                COMMANDS.join(", ")
            ))
        }
    })
}
