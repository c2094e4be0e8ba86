//! The JSON endpoints the pages read (`/api/...`). Each handler reads the node as the reader,
//! shapes the answer (`shape.rs`, `lineage.rs`) and adds the explorer's own checks
//! (`verification.rs`); a refusal comes back as the node's rule code (`error.rs`).
//!
//! Owns: the endpoints' parameters and documents. Must not depend on: how the pages draw them.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use vchain_proto::v1::get_pledge_request::Selector as PledgeSelector;
use vchain_proto::v1::list_vouchers_request::Owner;
use vchain_proto::v1::Role;

use super::error::{codes, ApiError};
use super::query::Params;
use super::verification::VerificationMark;
use super::{
    lineage, shape, AppState, BLOCKS_PAGE_DEFAULT, BLOCKS_PAGE_MAX, BLOCK_TXS_PAGE_MAX,
    EVENTS_PAGE_MAX, PROPOSALS_PAGE_MAX, VOUCHERS_PAGE_MAX,
};
use crate::{certificate, json};

/// What a handler answers.
type Answer = Result<Response, ApiError>;

/// A JSON document, never cached (the chain moves on).
fn document(value: Value) -> Answer {
    let mut response = (StatusCode::OK, value.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A section of a page that may fail on its own (the rest of the page is still shown).
fn section(result: Result<Value, ApiError>) -> Value {
    result.unwrap_or_else(|e| e.to_json())
}

/// `GET /api/status`: the node's status, the consensus nodes, the newest certified block.
pub(crate) async fn status(State(state): State<Arc<AppState>>) -> Answer {
    let node = &state.node;
    let status = node.status().await?;
    // The membership as the node proves it against its state root, when the reader may read
    // state proofs (auditors and administrators).
    let (config, proof) = match node.consensus_proof().await {
        Ok(answer) => match certificate::proven_config(&answer) {
            Ok(proven) => (
                Some(proven.config),
                VerificationMark::Verified {
                    detail: format!(
                        "the consensus nodes are proven against the state root of block {}",
                        proven.height
                    ),
                },
            ),
            Err(e) => (
                None,
                VerificationMark::Invalid {
                    detail: e.to_string(),
                },
            ),
        },
        Err(e) => (
            None,
            VerificationMark::Unchecked {
                detail: e.to_string(),
            },
        ),
    };
    let certified = state.verifier.certified_height(node, status.height).await;
    document(json!({
        "status": json::to_json(&status),
        "chain_id": node.chain_id(),
        "reader": node.reader(),
        "endpoint": state.endpoint,
        "nodes": shape::nodes(&status, config.as_ref()),
        "nodes_proof": proof,
        "certified": certified,
    }))
}

/// `GET /api/blocks?before=H&limit=N`: the newest blocks below height `H` (below the head + 1
/// when absent), newest first.
pub(crate) async fn blocks(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let params = Params::parse(q.as_deref())?;
    let limit = params.limit(BLOCKS_PAGE_DEFAULT, BLOCKS_PAGE_MAX)?;
    let head = state.node.public_status().await?.height;
    let top = match params.number("before")? {
        Some(0) => {
            return Err(ApiError::bad_request(
                "before=0: no block is below height 0",
            ))
        }
        Some(before) => (before - 1).min(head),
        None => head,
    };
    let mut rows = Vec::new();
    let mut height = top;
    loop {
        if rows.len() as u64 >= limit {
            break;
        }
        match state.node.block(height).await {
            Ok(response) => rows.push(shape::block_summary(&response)),
            // The chain may keep no block at height 0 (genesis is its configuration).
            Err(e) if e.is_not_found() && height == 0 => {}
            Err(e) => return Err(e),
        }
        if height == 0 {
            break;
        }
        height -= 1;
    }
    let lowest = rows
        .last()
        .and_then(|r| r["height"].as_u64())
        .filter(|&h| h > 0);
    document(json!({ "head": head, "blocks": rows, "next_before": lowest }))
}

/// `GET /api/block/{height}?from=I`: a block, its transactions from `I`, its certificate mark.
pub(crate) async fn block(
    State(state): State<Arc<AppState>>,
    Path(height): Path<String>,
    RawQuery(q): RawQuery,
) -> Answer {
    let params = Params::parse(q.as_deref())?;
    let height: u64 = height
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{height:?} is not a block height")))?;
    let from = usize::try_from(params.number("from")?.unwrap_or(0)).unwrap_or(usize::MAX);
    let response = state.node.block(height).await?;
    let mark = state.verifier.block(&state.node, &response).await;
    let mut page = shape::block_detail(&response, from, BLOCK_TXS_PAGE_MAX);
    page["verification"] = json!(mark);
    page["tx_page"] = json!(BLOCK_TXS_PAGE_MAX);
    document(page)
}

/// `GET /api/tx/{hash}`: a transaction by its hash (hex).
pub(crate) async fn transaction(
    State(state): State<Arc<AppState>>,
    Path(hash): Path<String>,
) -> Answer {
    let bytes = hex::decode(hash.trim_start_matches("0x"))
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{hash:?} is not a transaction hash (64 hex characters)"
            ))
        })?;
    let response = state.node.transaction(bytes).await?;
    document(shape::transaction(&response))
}

/// `GET /api/account/{id}`: an account, the first page of the vouchers it holds and, for a
/// core enterprise, of those its identity issued.
pub(crate) async fn account(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Answer {
    let account = state.node.account(&id).await?;
    let held = voucher_page(
        &state,
        Owner::Holder(id.clone()),
        String::new(),
        VOUCHERS_PAGE_MAX,
    )
    .await;
    let issued = if account.role() == Role::CoreEnterprise {
        Some(
            voucher_page(
                &state,
                Owner::Issuer(account.uscc.clone()),
                String::new(),
                VOUCHERS_PAGE_MAX,
            )
            .await,
        )
    } else {
        None
    };
    document(json!({
        "account": json::to_json(&account),
        "held": section(held),
        "issued": issued.map(section),
    }))
}

/// One page of vouchers as `{vouchers, next_token}`.
async fn voucher_page(
    state: &AppState,
    owner: Owner,
    token: String,
    limit: u64,
) -> Result<Value, ApiError> {
    let size = u32::try_from(limit).unwrap_or(u32::MAX);
    let page = state.node.vouchers(owner, token, size).await?;
    Ok(json!({
        "vouchers": json::to_json(&page.vouchers),
        "next_token": page.next_page_token,
    }))
}

/// `GET /api/vouchers?holder=ID|issuer=USCC&token=T&limit=N`: a page of vouchers.
pub(crate) async fn vouchers(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let params = Params::parse(q.as_deref())?;
    let limit = params.limit(VOUCHERS_PAGE_MAX, VOUCHERS_PAGE_MAX)?;
    let owner = match (params.text("holder"), params.text("issuer")) {
        (holder, _) if !holder.is_empty() => Owner::Holder(holder),
        (_, issuer) if !issuer.is_empty() => Owner::Issuer(issuer),
        _ => return Err(ApiError::bad_request("give holder=ACCOUNT or issuer=USCC")),
    };
    document(voucher_page(&state, owner, params.text("token"), limit).await?)
}

/// `GET /api/voucher/{id}`: a voucher, its lineage laid out as a graph, its active pledge.
pub(crate) async fn voucher(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Answer {
    let voucher = state.node.voucher(&id).await?;
    let trace = state.node.trace(&id).await?;
    let pledge = if voucher.pledge.is_empty() {
        None
    } else {
        Some(section(
            state
                .node
                .pledge(PledgeSelector::RegistrationNumber(voucher.pledge.clone()))
                .await
                .map(|p| json::to_json(&p)),
        ))
    };
    document(json!({
        "voucher": json::to_json(&voucher),
        "lineage": lineage::lineage(&trace),
        "pledge": pledge,
    }))
}

/// `GET /api/voucher/{id}/verification`: the voucher's mark (its own request: checking
/// certificates may take a while, and the page shows the voucher meanwhile).
pub(crate) async fn voucher_verification(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Answer {
    let mark = state.verifier.voucher_verification(&state.node, &id).await;
    document(json!(mark))
}

/// Whether a recent event (as JSON) is a pledge event.
fn is_pledge_event(event: &Value) -> bool {
    event["kind"]
        .as_str()
        .is_some_and(|k| k.starts_with("EVENT_KIND_PLEDGE_"))
}

/// `GET /api/pledges?limit=N`: pledge notices (registrations, amendments, releases,
/// enforcements, lapses, alerts) among the recent events, newest first.
pub(crate) async fn pledges(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let params = Params::parse(q.as_deref())?;
    let limit = params.limit(EVENTS_PAGE_MAX, EVENTS_PAGE_MAX)?;
    let notices = state.live.recent(
        usize::try_from(limit).unwrap_or(usize::MAX),
        is_pledge_event,
    );
    document(json!({ "notices": notices }))
}

/// `GET /api/pledge/{number}`: a pledge registration (public notice), with its recent events.
pub(crate) async fn pledge(
    State(state): State<Arc<AppState>>,
    Path(number): Path<String>,
) -> Answer {
    let pledge = state
        .node
        .pledge(PledgeSelector::RegistrationNumber(number.clone()))
        .await?;
    let events = state.live.recent(EVENTS_PAGE_MAX as usize, |e| {
        e["pledge"].as_str() == Some(number.as_str())
    });
    document(json!({ "pledge": json::to_json(&pledge), "events": events }))
}

/// `GET /api/proposals?open=1&token=T&limit=N`: governance proposals in submission order.
pub(crate) async fn proposals(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let params = Params::parse(q.as_deref())?;
    let limit = params.limit(PROPOSALS_PAGE_MAX, PROPOSALS_PAGE_MAX)?;
    let page = state
        .node
        .proposals(
            params.flag("open")?,
            params.text("token"),
            u32::try_from(limit).unwrap_or(u32::MAX),
        )
        .await?;
    document(json!({
        "proposals": json::to_json(&page.proposals),
        "next_token": page.next_page_token,
    }))
}

/// `GET /api/proposal/{id}`: a proposal with its votes and history.
pub(crate) async fn proposal(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Answer {
    let response = state.node.proposal(&id).await?;
    document(json!({
        "proposal": json::to_json(&response.proposal),
        "events": json::to_json(&response.events),
    }))
}

/// `GET /api/events?limit=N`: the newest events the explorer has seen, newest first.
pub(crate) async fn events(State(state): State<Arc<AppState>>, RawQuery(q): RawQuery) -> Answer {
    let params = Params::parse(q.as_deref())?;
    let limit = params.limit(50, EVENTS_PAGE_MAX)?;
    let recent = state
        .live
        .recent(usize::try_from(limit).unwrap_or(usize::MAX), |_| true);
    document(json!({ "events": recent }))
}

/// Any other `/api/...` path.
pub(crate) async fn no_such_endpoint(Path(rest): Path<String>) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::NO_SUCH_PAGE,
        format!("no endpoint /api/{rest}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pledge_notices_are_the_pledge_events() {
        assert!(is_pledge_event(
            &json!({ "kind": "EVENT_KIND_PLEDGE_REGISTERED" })
        ));
        assert!(is_pledge_event(
            &json!({ "kind": "EVENT_KIND_PLEDGE_ALERT" })
        ));
        assert!(!is_pledge_event(
            &json!({ "kind": "EVENT_KIND_VOUCHER_SPLIT" })
        ));
        assert!(!is_pledge_event(&json!({})));
    }

    #[test]
    fn a_failed_section_is_its_error_document() {
        let failed = section(Err(ApiError::bad_request("no")));
        assert_eq!(failed["error"]["code"], "BAD_REQUEST");
        assert_eq!(section(Ok(json!(1))), json!(1));
    }
}
