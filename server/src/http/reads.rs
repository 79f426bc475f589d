//! Reading an account: its state (the core's report), its checkpoint, and its entries and
//! events page by page. Every role may read (SPEC §5.1); a member sees only its own row of
//! usage by member.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use ai_credits::time::parse_instant;

use crate::engine;
use crate::engine::payment::PaymentError;
use crate::error::{ApiError, ErrorCode};
use crate::http::Shared;
use crate::http::auth::{Caller, Role};
use crate::http::roles::Action;

/// Most events one page of `/entries` scans.
pub const ENTRIES_PAGE_MAX: i64 = 1000;
/// Entries `/state` lists unless asked for all of them (`?entries=all`).
pub const STATE_ENTRIES_DEFAULT: i64 = 100;

fn query_map(
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    query.map(|Query(q)| q).map_err(|e| {
        ApiError::bad_request(ErrorCode::InvalidRequest, format!("bad query string: {e}"))
    })
}

/// Most receipts `/receipts` returns (the newest).
pub const RECEIPTS_MAX: i64 = 500;

/// `GET /v1/accounts/{id}/payment-method`: what a purchase will be charged to, as the
/// payment processor names it (`{"payment_method": {brand, last4, label}}`, or `null` when it
/// keeps none); who may read receipts may (admin, platform). A processor past its deadline is
/// 503 payment_unavailable.
pub async fn get_payment_method(
    State(app): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::ReadReceipts, Some(&id))?;
    crate::http::account_must_exist(&app.ctx.db, &id).await?;
    let method = app.engine.payment_method(&id).await.map_err(|e| {
        let (PaymentError::Declined(why) | PaymentError::Failed(why)) = e;
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::PaymentUnavailable,
            format!("the payment processor could not say how the account pays ({why}); retry"),
        )
    })?;
    Ok(Json(json!({
        "payment_method": method.map(|m| json!({
            "brand": m.brand, "last4": m.last4, "label": m.label(),
        })),
    })))
}

/// `GET /v1/accounts/{id}/receipts`: one line per paid purchase, newest first (admin, platform).
pub async fn get_receipts(
    State(app): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::ReadReceipts, Some(&id))?;
    crate::http::account_must_exist(&app.ctx.db, &id).await?;
    let rows = app
        .ctx
        .db
        .receipts(&id, RECEIPTS_MAX)
        .await
        .map_err(|e| ApiError::storage(&e))?;
    let receipts: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "purchase": r.purchase,
                "pack": r.pack,
                "credits": app.ctx.catalogue.packs.iter().find(|p| p.id == r.pack).map(|p| p.credits),
                "amount_cents": r.amount_cents,
                "member": r.member,
                "charged_at": r.charged_at,
                "processor_charge_id": r.processor_charge_id,
            })
        })
        .collect();
    Ok(Json(json!({"receipts": receipts})))
}

pub async fn get_state(
    State(app): Shared,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::Read, Some(&id))?;
    let query = query_map(query)?;
    let at = query
        .get("at")
        .map(|text| {
            parse_instant(text).ok_or_else(|| {
                ApiError::bad_request(
                    ErrorCode::InvalidRequest,
                    format!("`at` is not an RFC 3339 time: {text:?}"),
                )
            })
        })
        .transpose()?;
    let wanted = match query.get("entries").map(String::as_str) {
        None => engine::EntriesWanted::Newest(STATE_ENTRIES_DEFAULT),
        Some("all") => engine::EntriesWanted::All,
        Some(other) => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                format!(
                    "`entries` is `all` or absent (the newest {STATE_ENTRIES_DEFAULT}), not {other:?}"
                ),
            ));
        }
    };
    let read = engine::read_state(&app.ctx, &id, wanted).await?;
    let at = at.unwrap_or_else(|| {
        let clock = engine::clock();
        read.ledger.now().map_or(clock, |now| now.max(clock))
    });
    let report = read.ledger.report(at, vec![], vec![])?;
    let mut doc =
        serde_json::to_value(&report).map_err(|e| ApiError::corrupt(&id, &e.to_string()))?;
    if let Value::Object(o) = &mut doc {
        // The entries come from the store (the ledger keeps only those since its checkpoint).
        o.insert("entries".into(), Value::Array(read.entries));
        o.insert(
            "entries_before".into(),
            read.older.map_or(Value::Null, Value::from),
        );
        o.insert("version".into(), read.version.into());
        o.insert("cursor".into(), read.event_count.into());
    }
    if let Some(member) = member_reading(&caller) {
        only_own(&mut doc, member);
    }
    Ok(Json(doc))
}

/// The account's checkpoint as of its latest committed event (SPEC §5.3), with the cursor
/// to fetch the events after it from (`/entries?after=`) and the catalogue it names. ETag:
/// the account's version.
pub async fn get_checkpoint(
    State(app): Shared,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.may(Action::Read, Some(&id))?;
    let read = engine::read_state(&app.ctx, &id, engine::EntriesWanted::None).await?;
    let etag = format!("\"v{}\"", read.version);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let etag_header =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"v\""));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag_header)]).into_response());
    }
    let mut body = json!({
        "checkpoint": read.ledger.checkpoint(),
        "cursor": read.event_count,
        "version": read.version,
    });
    if let Some(member) = member_reading(&caller) {
        only_own(&mut body, member);
    }
    Ok(([(header::ETAG, etag_header)], Json(body)).into_response())
}

pub async fn get_entries(
    State(app): Shared,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    caller.may(Action::Read, Some(&id))?;
    let query = query_map(query)?;
    let number = |key: &str, default: i64, max: i64| -> Result<i64, ApiError> {
        match query.get(key) {
            None => Ok(default),
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        ErrorCode::InvalidRequest,
                        format!("`{key}` must be a whole number from 0 to {max}"),
                    )
                }),
        }
    };
    let limit = number("limit", ENTRIES_PAGE_MAX, ENTRIES_PAGE_MAX)?.max(1);
    if query.contains_key("before") {
        if query.contains_key("after") {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidRequest,
                "page with `before` (older entries) or `after` (newer events), not both",
            ));
        }
        let before = number("before", 0, i64::MAX)?;
        let (page, older) = engine::entries_before(&app.ctx, &id, before, limit).await?;
        let (seqs, entries): (Vec<i64>, Vec<Value>) = page.into_iter().unzip();
        let mut body = json!({"entries": entries, "seqs": seqs, "before": older});
        if let Some(member) = member_reading(&caller) {
            only_own(&mut body, member);
        }
        return Ok(Json(body));
    }
    let after = number("after", 0, i64::MAX)?;
    let page = engine::entries_after(&app.ctx, &id, after, limit).await?;
    let mut body = json!({
        "entries": page.entries,
        "events": page.events,
        "account": page.account,
        "now": page.now,
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
        "version": page.version,
    });
    if let Some(member) = member_reading(&caller) {
        only_own(&mut body, member);
    }
    Ok(Json(body))
}

/// The member a read is for when the caller is a member (admins, the service and the
/// platform read everyone's).
fn member_reading(caller: &Caller) -> Option<&str> {
    match caller {
        Caller::Account {
            role: Role::Member,
            member,
            ..
        } => Some(member),
        _ => None,
    }
}

/// A member's view of what it reads (SPEC §5.1: "usage by member: its own only"): in the
/// report, the checkpoint and the synced entries and events, usage by member keeps only the
/// member's own row, and another member's name is taken off every event, entry and hold. The
/// balances are untouched (no rule reads who a member is), so a member's replica agrees with
/// the server on every figure, and its usage by member is its own, as the server's view.
fn only_own(value: &mut Value, member: &str) {
    match value {
        Value::Object(o) => {
            if o.get("member")
                .and_then(Value::as_str)
                .is_some_and(|m| m != member)
            {
                o.remove("member");
            }
            for key in ["usage_by_member", "by_member"] {
                if let Some(Value::Object(rows)) = o.get_mut(key) {
                    rows.retain(|name, _| name == member);
                }
            }
            o.values_mut().for_each(|v| only_own(v, member));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| only_own(v, member)),
        _ => {}
    }
}
