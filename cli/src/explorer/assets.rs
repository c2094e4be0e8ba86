//! The web UI's files, compiled into the binary (no CDN, no web fonts: the explorer works with
//! no internet), served with their content types, an `ETag` and `Cache-Control: no-cache` (a
//! browser keeps them and asks again with `If-None-Match`, so a new binary's UI is never stale),
//! and a Content-Security-Policy that lets the page load only its own scripts and styles and
//! talk only to its own server.
//!
//! Owns: the assets and their headers. Must not depend on: the API.

use std::sync::OnceLock;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One file of the UI.
#[derive(Debug)]
pub(crate) struct Asset {
    /// Its URL path.
    pub(crate) path: &'static str,
    /// Its `Content-Type`.
    pub(crate) content_type: &'static str,
    /// Its bytes.
    pub(crate) body: &'static [u8],
}

/// Every file of the UI.
pub(crate) const ASSETS: [Asset; 4] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("assets/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/app.js"),
    },
    Asset {
        path: "/app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/app.css"),
    },
    Asset {
        path: "/favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("assets/favicon.svg"),
    },
];

/// What the page may load and talk to: only its own server.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The asset at `path` (`/index.html` is `/`).
pub(crate) fn find(path: &str) -> Option<(usize, &'static Asset)> {
    let path = if path == "/index.html" { "/" } else { path };
    ASSETS.iter().enumerate().find(|(_, a)| a.path == path)
}

/// The `ETag` of each asset: a digest of its bytes, computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..32]))
            .collect()
    })
}

/// Serves an asset, `304 Not Modified` when the browser has it, 404 otherwise.
pub(crate) async fn serve(uri: Uri, request_headers: HeaderMap) -> Response {
    let Some((index, asset)) = find(uri.path()) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not found: the explorer's pages are under / (e.g. /#/blocks)\n",
        )
            .into_response();
    };
    let etag = &etags()[index];
    let fresh = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        asset.body.into_response()
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_with_its_type_and_nothing_else_is() {
        let (_, index) = find("/").expect("index");
        assert!(index.content_type.starts_with("text/html"));
        assert!(std::str::from_utf8(index.body)
            .expect("utf-8")
            .contains("<script src=\"/app.js\""));
        assert_eq!(find("/index.html").map(|(i, _)| i), Some(0));
        assert!(find("/app.js")
            .expect("js")
            .1
            .content_type
            .starts_with("text/javascript"));
        assert!(find("/app.css")
            .expect("css")
            .1
            .content_type
            .starts_with("text/css"));
        assert!(find("/../Cargo.toml").is_none());
        assert!(find("/app.js.map").is_none());
        assert_eq!(etags().len(), ASSETS.len());
    }

    #[test]
    fn the_ui_loads_nothing_from_elsewhere() {
        for asset in &ASSETS {
            let text = String::from_utf8_lossy(asset.body);
            for outside in [
                "http://",
                "https://",
                "//cdn",
                "@import",
                "fonts.googleapis",
            ] {
                // The SVG namespace is a name, not a fetch.
                let fetched = text
                    .match_indices(outside)
                    .any(|(at, _)| !text[at..].starts_with("http://www.w3.org/"));
                assert!(!fetched, "{} refers to {outside}", asset.path);
            }
        }
    }

    #[tokio::test]
    async fn a_browser_that_has_an_asset_gets_304() {
        let uri: Uri = "/app.css".parse().expect("uri");
        let first = serve(uri.clone(), HeaderMap::new()).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::CACHE_CONTROL], "no-cache");
        let etag = first.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, etag);
        assert_eq!(serve(uri, again).await.status(), StatusCode::NOT_MODIFIED);
        let missing = serve("/nope".parse().expect("uri"), HeaderMap::new()).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }
}
