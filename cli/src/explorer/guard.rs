//! What every request passes before a handler sees it: its `Host` must name the address
//! served (a page on another site that rebinds its DNS name to the explorer's address would
//! otherwise read the chain as the explorer's reader), a place among the
//! [`REQUESTS_IN_FLIGHT_MAX`] requests in flight, and an answer within [`REQUEST_TIMEOUT`].
//!
//! Owns: those three bounds. Must not depend on: the handlers.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{codes, ApiError};
use super::{AppState, REQUESTS_IN_FLIGHT_MAX, REQUEST_TIMEOUT};

/// The `Host` values requests may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hosts {
    /// Bound to every interface: any name may reach it, so any is taken.
    Any,
    /// Bound to one address: that address, and `localhost` for a loopback one.
    Only(BTreeSet<String>),
}

impl Hosts {
    /// The hosts of a server bound to `address`.
    pub(crate) fn for_address(address: SocketAddr) -> Self {
        let ip = address.ip();
        if ip.is_unspecified() {
            return Self::Any;
        }
        let port = address.port();
        let bare = match ip {
            std::net::IpAddr::V4(v4) => v4.to_string(),
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        };
        let mut hosts = vec![bare];
        if ip.is_loopback() {
            hosts.push("localhost".to_owned());
        }
        let mut names = BTreeSet::new();
        for host in hosts {
            // A browser leaves out the default port.
            if port == 80 {
                names.insert(host.clone());
            }
            names.insert(format!("{host}:{port}"));
        }
        Self::Only(names)
    }

    /// Whether a request with this `Host` is for us.
    pub(crate) fn allows(&self, host: Option<&str>) -> bool {
        match self {
            Self::Any => true,
            Self::Only(names) => host.is_some_and(|h| names.contains(&h.to_ascii_lowercase())),
        }
    }
}

/// The middleware.
pub(crate) async fn guard(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if !state.hosts.allows(host) {
        return ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            codes::WRONG_HOST,
            format!(
                "this explorer answers requests for the address it serves, not for host {:?}",
                host.unwrap_or_default()
            ),
        )
        .into_response();
    }
    let Ok(_place) = Arc::clone(&state.in_flight).try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::BUSY,
            format!(
                "the explorer serves at most {REQUESTS_IN_FLIGHT_MAX} requests at once; try again"
            ),
        )
        .into_response();
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            codes::REQUEST_TIMEOUT,
            format!(
                "no answer within {} s (the node is slow, or there was much to check)",
                REQUEST_TIMEOUT.as_secs()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_explorer_answers_only_for_its_own_address() {
        let hosts = Hosts::for_address("127.0.0.1:8080".parse().expect("address"));
        assert!(hosts.allows(Some("127.0.0.1:8080")));
        assert!(hosts.allows(Some("localhost:8080")));
        assert!(hosts.allows(Some("LOCALHOST:8080")));
        assert!(!hosts.allows(Some("evil.example:8080")), "DNS rebinding");
        assert!(!hosts.allows(Some("127.0.0.1:9090")));
        assert!(
            !hosts.allows(Some("127.0.0.1")),
            "only port 80 may be left out"
        );
        assert!(!hosts.allows(None));
        let v6 = Hosts::for_address("[::1]:81".parse().expect("address"));
        assert!(v6.allows(Some("[::1]:81")));
        assert!(v6.allows(Some("localhost:81")));
    }

    #[test]
    fn a_lan_address_takes_only_itself_and_every_interface_takes_any() {
        let lan = Hosts::for_address("192.168.1.5:80".parse().expect("address"));
        assert!(lan.allows(Some("192.168.1.5:80")));
        assert!(
            lan.allows(Some("192.168.1.5")),
            "the default port may be left out"
        );
        assert!(!lan.allows(Some("localhost:80")));
        let any = Hosts::for_address("0.0.0.0:80".parse().expect("address"));
        assert_eq!(any, Hosts::Any);
        assert!(any.allows(Some("explorer.bank.example")));
    }
}
