use super::*;
use crate::ivr::script::HttpMethod;
use tokio::net::TcpListener;

fn get(url: &str, timeout_ms: u32) -> HttpRequest {
    HttpRequest {
        id: 1,
        method: HttpMethod::Get,
        url: url.into(),
        headers: vec![("X-Trace".into(), "t1".into())],
        body: None,
        timeout_ms,
    }
}

#[test]
fn urls_parse_into_host_port_and_path() {
    let t =
        Target::parse("http://127.0.0.1:8099/customers/1001?x=1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        t,
        Target {
            host: "127.0.0.1".into(),
            port: 8099,
            path: "/customers/1001?x=1".into()
        }
    );
    let t = Target::parse("http://localhost").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((t.port, t.path.as_str()), (80, "/"));
    let t = Target::parse("http://[::1]:81?q").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (t.host.as_str(), t.port, t.path.as_str()),
        ("::1", 81, "/?q")
    );
    for bad in [
        "https://x/",
        "http://",
        "http://u@h/",
        "http://h:port/",
        "http://h/a b",
        "http://h:70000/",
    ] {
        assert!(Target::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn only_loopback_or_listed_hosts_are_allowed() {
    let allow = vec!["crm.example:8080".to_owned()];
    let ok = |u: &str| Target::parse(u).is_ok_and(|t| t.allowed(&allow));
    assert!(ok("http://127.0.0.1:1/"));
    assert!(ok("http://127.9.9.9:1/"));
    assert!(ok("http://[::1]:1/"));
    assert!(ok("http://localhost:1/"));
    assert!(ok("http://crm.example:8080/"));
    assert!(!ok("http://crm.example:8081/"));
    assert!(!ok("http://10.0.0.1:8080/"));
}

#[test]
fn responses_parse_by_length_chunks_or_close() {
    let by_length = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}trailing";
    assert_eq!(parse_response(by_length), Ok((200, "{}".into())));
    let chunked =
        b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
    assert_eq!(parse_response(chunked), Ok((201, "{\"a\":1}".into())));
    let to_close = b"HTTP/1.0 404 Not Found\r\n\r\nnope";
    assert_eq!(parse_response(to_close), Ok((404, "nope".into())));
    assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{}").is_err());
    assert!(parse_response(b"SIP/2.0 200 OK\r\n\r\n").is_err());
    assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n").is_err());
    assert!(parse_response(b"HTTP/1.1 200 OK\r\nbroken\r\n\r\n").is_err());
    assert!(parse_response(b"HTTP/1.1 200 OK\r\n\r\n\xff\xfe").is_err());
    let mut huge = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    huge.resize(huge.len() + MAX_HTTP_BODY + 1, b' ');
    assert_eq!(parse_response(&huge), Err(HttpError::TooLarge));
}

#[test]
fn post_requests_carry_a_json_body_with_its_length() {
    let t = Target::parse("http://127.0.0.1:5/c").unwrap_or_else(|e| panic!("{e}"));
    let mut req = get("http://127.0.0.1:5/c", 100);
    req.method = HttpMethod::Post;
    req.body = Some("{\"n\":\"1\"}".into());
    let text = String::from_utf8(request_bytes(&t, &req)).unwrap_or_default();
    assert!(
        text.starts_with("POST /c HTTP/1.1\r\nHost: 127.0.0.1:5\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nX-Trace: t1\r\n"), "{text}");
    assert!(
        text.contains(
            "\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"n\":\"1\"}"
        ),
        "{text}"
    );
}

/// A one-shot server on 127.0.0.1: reads the request head, writes `answer`
/// (or nothing, keeping the connection open, when it is empty).
async fn serve_once(answer: Vec<u8>) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let task = tokio::spawn(async move {
        let Ok((mut s, _)) = listener.accept().await else {
            return String::new();
        };
        let mut buf = vec![0u8; 4096];
        let n = s.read(&mut buf).await.unwrap_or(0);
        if answer.is_empty() {
            // Never answer: hold the connection until the client gives up.
            let _ = s.read(&mut buf).await;
        } else {
            let _ = s.write_all(&answer).await;
        }
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    (port, task)
}

#[tokio::test]
async fn fetch_gets_the_answer_of_a_local_server() {
    let body = r#"{"customer":{"vip":true}}"#;
    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (port, server) = serve_once(answer.into_bytes()).await;
    let req = get(&format!("http://127.0.0.1:{port}/customers/1001"), 2000);
    assert_eq!(fetch(&req, &[]).await, Ok((200, body.to_owned())));
    let seen = server.await.unwrap_or_default();
    assert!(
        seen.starts_with("GET /customers/1001 HTTP/1.1\r\n"),
        "{seen}"
    );
    assert!(
        seen.contains(&format!("Host: 127.0.0.1:{port}\r\n")),
        "{seen}"
    );
}

#[tokio::test]
async fn fetch_fails_on_silence_refusal_size_and_disallowed_hosts() {
    let (port, _server) = serve_once(Vec::new()).await;
    let req = get(&format!("http://127.0.0.1:{port}/"), 200);
    assert_eq!(fetch(&req, &[]).await, Err(HttpError::Timeout(200)));

    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = closed.local_addr().map(|a| a.port()).unwrap_or(0);
    drop(closed);
    let req = get(&format!("http://127.0.0.1:{port}/"), 2000);
    assert!(matches!(
        fetch(&req, &[]).await,
        Err(HttpError::Connect(..))
    ));

    let mut huge = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    huge.resize(MAX_RESPONSE + 10, b' ');
    let (port, _server) = serve_once(huge).await;
    let req = get(&format!("http://127.0.0.1:{port}/"), 2000);
    assert_eq!(fetch(&req, &[]).await, Err(HttpError::TooLarge));

    let req = get("http://192.0.2.1:80/", 2000);
    assert_eq!(
        fetch(&req, &[]).await,
        Err(HttpError::NotAllowed("192.0.2.1:80".into()))
    );
}
