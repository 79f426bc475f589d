//! Posting events (`POST /v1/accounts/{id}/events`): the edge reads the event, decides who
//! may post it and for whom (SPEC §5.1), whose clock it carries (§5.2), and hands it to the
//! engine, which decides it with the core.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use ai_credits::time::format_instant;
use ai_credits::{EventBody, EventDraft, EventKind};

use crate::engine::{self, Poster};
use crate::error::{ApiError, ErrorCode};
use crate::http::auth::Caller;
use crate::http::roles::{Action, Grant};
use crate::http::{AppState, Shared, json_object};

pub async fn post_event(
    State(app): Shared,
    Path(id): Path<String>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    // Another account's token is told the account does not exist before anything else.
    caller.may(Action::Read, Some(&id))?;
    let event = json_object(body).map_err(|e| match e.code {
        // A body that is not an event object is an invalid event, in the core's words.
        ErrorCode::InvalidJson => ApiError::bad_request(
            ErrorCode::Ledger(ai_credits::RejectCode::InvalidEvent),
            e.message,
        ),
        _ => e,
    })?;
    let mut draft = EventDraft::from_json(&Value::Object(event));
    refuse_unread_fields(&draft)?;
    // An event without a known kind is refused by the core (`invalid_event`) for any role.
    let grant = match draft.kind {
        Ok(kind) => {
            let grant = caller.may(Action::of_event(kind), Some(&id))?;
            refuse_key_events(&app, &id, kind)?;
            grant
        }
        Err(_) => Grant::Yes,
    };
    if grant == Grant::OwnMember {
        for_own_member(&mut draft, caller.member())?;
    }
    let poster = poster(&app, &caller, &draft, grant)?;
    let accepted = app.engine.submit(id, draft, poster).await?;
    Ok(Json(
        json!({"duplicate": accepted.duplicate, "entry": accepted.entry}),
    ))
}

/// Nothing but what the core reads is stored: a field it does not read is refused (a usage's
/// or commit's `provider_usage` is read by the core into its token counts).
fn refuse_unread_fields(draft: &EventDraft) -> Result<(), ApiError> {
    draft.unread_fields().map_or(Ok(()), |refused| {
        Err(ApiError {
            status: axum::http::StatusCode::BAD_REQUEST,
            ..ApiError::from(refused)
        })
    })
}

/// Key states change only through the keys endpoints, which write the stored key, the
/// ledger's event and the audit entry as one unit; a bare key event would leave the ledger
/// saying `connected` with no key stored. Replays and imports of history
/// (`--allow-client-time`) carry key events as they happened, posted by the platform.
fn refuse_key_events(app: &AppState, id: &str, kind: EventKind) -> Result<(), ApiError> {
    let key_event = matches!(
        kind,
        EventKind::ConnectKey | EventKind::KeyInvalid | EventKind::RemoveKey
    );
    if key_event && !app.ctx.allow_client_time {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::UseKeysEndpoint,
            format!(
                "{} events are not posted here: use PUT /v1/accounts/{id}/keys, DELETE …/keys/{{provider}} or POST …/keys/{{provider}}/rejected, which keep the stored key, the ledger and the audit log together",
                kind.as_str()
            ),
        ));
    }
    Ok(())
}

/// An admin's or member's hold is for its own member: one that names nobody is placed for
/// the token's member, one that names another is refused (403 `member_mismatch`). Releases
/// name no member; that the hold is the member's own is checked by the engine.
fn for_own_member(draft: &mut EventDraft, member: &str) -> Result<(), ApiError> {
    if let Ok(EventBody::Hold { by, .. }) = &mut draft.body {
        match by.member.as_deref() {
            None => by.member = Some(member.to_owned()),
            Some(named) if named == member => {}
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::MemberMismatch,
                    "this token holds for its own member only; leave `member` out or name the token's member",
                ));
            }
        }
    }
    Ok(())
}

/// Who posts, with the bounds the edge sets: only the platform's `at` is kept, and only on an
/// `--allow-client-time` server, and never one past the server's clock by more than the
/// clock bound; a hold lasts at most `--hold-max-duration-s`.
fn poster(
    app: &Arc<AppState>,
    caller: &Caller,
    draft: &EventDraft,
    grant: Grant,
) -> Result<Poster, ApiError> {
    // On a replay server the platform's events carry their own time (one without a valid
    // `at` is the core's `invalid_event`, as in a scenario).
    let keep_at = app.ctx.allow_client_time && *caller == Caller::Platform;
    if keep_at && let Ok(at) = &draft.at {
        let bound = engine::clock() + app.policy.clock_skew_max;
        if *at > bound {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::Ledger(ai_credits::RejectCode::InvalidEvent),
                format!(
                    "the event is dated {}, past the server's clock by more than {} ms; an event's time may not be in the future",
                    format_instant(at),
                    app.policy.clock_skew_max.num_milliseconds()
                ),
            ));
        }
    }
    Ok(Poster {
        member: caller.member().to_owned(),
        role: caller.role_name(),
        own_holds_only: grant == Grant::OwnMember,
        hold_max: app.policy.hold_max,
        keep_at,
    })
}
