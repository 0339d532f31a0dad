//! The supervisor wall (issue 6, "the supervisor view at `/wall`"): the
//! `/wall` page with its script and style sheet, embedded with
//! `include_str!` like the desk (no build step). The page asks
//! `GET /api/session` and shows a sign-in form (`POST /api/login`) when a
//! supervisor must sign in, then reads the JSON snapshots `GET /api/queues`,
//! `GET /api/agents` and `GET /api/stats/history` once a second; its
//! one-hour charts (waiting, service level) come from the server's history.
//! The server side is three static routes and holds no state.
//! Listen/whisper/barge are not here.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("wall.js");
const STYLE: &str = include_str!("wall.css");

/// `GET /wall`.
pub(super) async fn page() -> Response {
    static_file("text/html; charset=utf-8", PAGE)
}

/// `GET /wall/wall.js`.
pub(super) async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /wall/wall.css`.
pub(super) async fn style() -> Response {
    static_file("text/css; charset=utf-8", STYLE)
}

fn static_file(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_its_script_and_style() {
        assert!(PAGE.contains(r#"src="/wall/wall.js""#));
        assert!(PAGE.contains(r#"href="/wall/wall.css""#));
    }

    #[test]
    fn script_never_writes_server_data_as_html() {
        assert!(!SCRIPT.contains("innerHTML"));
        assert!(!SCRIPT.contains("outerHTML"));
        assert!(!SCRIPT.contains("insertAdjacentHTML"));
        assert!(SCRIPT.contains("textContent"));
    }
}
