//! Message framing on TCP/TLS byte streams (RFC 3261 §18.3, §7.5): cut the
//! stream into whole messages by the header section's empty line and the
//! mandatory Content-Length, and recognise RFC 5626 §3.5.1 CRLF keep-alives
//! (a CRLFCRLF ping, answered by the shell with a CRLF pong). Pure and
//! bounded: the caller pushes bytes it read and pulls frames; nothing here
//! reads a socket or a clock. Any error means the shell closes the connection.

use super::parse;
use thiserror::Error;

/// One unit cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One whole message: headers plus exactly Content-Length body bytes.
    Message(Vec<u8>),
    /// A CRLFCRLF keep-alive ping: answer with CRLF.
    Ping,
}

/// Why the stream cannot be framed any further.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("stream framing: header section longer than {max} bytes")]
    HeaderTooLarge { max: usize },
    #[error("stream framing: message of {len} bytes exceeds {max}")]
    MessageTooLarge { len: usize, max: usize },
    #[error("stream framing: Content-Length is mandatory on streams (RFC 3261 §18.3)")]
    MissingContentLength,
    #[error("stream framing: bad Content-Length")]
    BadContentLength,
    #[error("stream framing: receive buffer full ({max} bytes unread)")]
    BufferFull { max: usize },
}

/// Reassembles messages from a byte stream. Holds at most twice
/// `max_message` unread bytes; more is an error.
#[derive(Debug, Clone)]
pub struct StreamFramer {
    buf: Vec<u8>,
    max_message: usize,
    /// Bytes already searched for the end of the header section.
    scanned: usize,
    overflow: bool,
}

impl StreamFramer {
    pub fn new(max_message: usize) -> StreamFramer {
        StreamFramer {
            buf: Vec::new(),
            max_message,
            scanned: 0,
            overflow: false,
        }
    }

    fn capacity(&self) -> usize {
        self.max_message.saturating_mul(2)
    }

    /// Append bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.overflow || self.buf.len().saturating_add(bytes.len()) > self.capacity() {
            self.overflow = true;
            return;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes pushed but not yet returned as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next whole frame, `Ok(None)` when more bytes are needed.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Frame>, FramingError> {
        if self.overflow {
            return Err(FramingError::BufferFull {
                max: self.capacity(),
            });
        }
        if let Some(ping) = self.leading_crlf() {
            return Ok(ping);
        }
        let from = self.scanned.saturating_sub(3);
        let Some(rel) = parse::header_end(self.buf.get(from..).unwrap_or_default()) else {
            self.scanned = self.buf.len();
            if self.buf.len() > self.max_message {
                return Err(FramingError::HeaderTooLarge {
                    max: self.max_message,
                });
            }
            return Ok(None);
        };
        let head_len = from + rel;
        if head_len > self.max_message {
            return Err(FramingError::HeaderTooLarge {
                max: self.max_message,
            });
        }
        let body_len = content_length(self.buf.get(..head_len).unwrap_or_default())?;
        let total = head_len.saturating_add(body_len);
        if total > self.max_message {
            return Err(FramingError::MessageTooLarge {
                len: total,
                max: self.max_message,
            });
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        let rest = self.buf.split_off(total);
        let msg = std::mem::replace(&mut self.buf, rest);
        self.scanned = 0;
        Ok(Some(Frame::Message(msg)))
    }

    /// Handle CR/LF bytes before a start line: a CRLFCRLF is a ping; other
    /// runs are skipped (§7.5). `Some(None)` means "wait for more bytes".
    fn leading_crlf(&mut self) -> Option<Option<Frame>> {
        let run = self
            .buf
            .iter()
            .take_while(|b| **b == b'\r' || **b == b'\n')
            .count();
        if run == 0 {
            return None;
        }
        if self.buf.starts_with(b"\r\n\r\n") {
            self.consume(4);
            return Some(Some(Frame::Ping));
        }
        if run == self.buf.len() && b"\r\n\r\n".starts_with(&self.buf) {
            return Some(None); // a ping may still be arriving
        }
        self.consume(run);
        None
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
        self.scanned = 0;
    }
}

/// The Content-Length (or compact `l`) of a header section. Every copy must
/// agree; absence is an error on a stream.
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let mut found: Option<usize> = None;
    for line in head.split(|b| *b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let name = name.trim_ascii();
        if !(name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l")) {
            continue;
        }
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        let n = std::str::from_utf8(value)
            .ok()
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or(FramingError::BadContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(FramingError::BadContentLength);
        }
        found = Some(n);
    }
    found.ok_or(FramingError::MissingContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[u8] = b"OPTIONS sip:a@h SIP/2.0\r\nCall-ID: a\r\nContent-Length: 4\r\n\r\nbody";
    const B: &[u8] = b"BYE sip:b@h SIP/2.0\r\nl: 0\r\nCall-ID: b\r\n\r\n";

    fn drain(f: &mut StreamFramer) -> Vec<Frame> {
        let mut out = Vec::new();
        while let Some(frame) = f.next().unwrap() {
            out.push(frame);
        }
        out
    }

    fn stream() -> Vec<u8> {
        [b"\r\n".as_slice(), A, b"\r\n\r\n", B].concat()
    }

    fn expected() -> Vec<Frame> {
        vec![
            Frame::Message(A.to_vec()),
            Frame::Ping,
            Frame::Message(B.to_vec()),
        ]
    }

    #[test]
    fn two_messages_and_a_ping_in_one_read() {
        let mut f = StreamFramer::new(1024);
        f.push(&stream());
        assert_eq!(drain(&mut f), expected());
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let bytes = stream();
        for cut in 0..=bytes.len() {
            let mut f = StreamFramer::new(1024);
            f.push(&bytes[..cut]);
            let mut got = drain(&mut f);
            f.push(&bytes[cut..]);
            got.extend(drain(&mut f));
            assert_eq!(got, expected(), "cut at {cut}");
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let mut f = StreamFramer::new(1024);
        let mut got = Vec::new();
        for b in stream() {
            f.push(&[b]);
            got.extend(drain(&mut f));
        }
        assert_eq!(got, expected());
    }

    #[test]
    fn lone_crlf_is_skipped_not_a_ping() {
        let mut f = StreamFramer::new(1024);
        f.push(b"\r\n");
        assert_eq!(f.next(), Ok(None));
        f.push(B);
        assert_eq!(drain(&mut f), vec![Frame::Message(B.to_vec())]);
    }

    #[test]
    fn missing_content_length_is_an_error() {
        let mut f = StreamFramer::new(1024);
        f.push(b"BYE sip:b@h SIP/2.0\r\nCall-ID: b\r\n\r\n");
        assert_eq!(f.next(), Err(FramingError::MissingContentLength));
    }

    #[test]
    fn conflicting_or_negative_content_length_is_an_error() {
        let mut f = StreamFramer::new(1024);
        f.push(b"BYE sip:b@h SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n");
        assert_eq!(f.next(), Err(FramingError::BadContentLength));
        let mut f = StreamFramer::new(1024);
        f.push(b"BYE sip:b@h SIP/2.0\r\nContent-Length: -1\r\n\r\n");
        assert_eq!(f.next(), Err(FramingError::BadContentLength));
    }

    #[test]
    fn oversize_header_and_body_are_errors() {
        let mut f = StreamFramer::new(64);
        f.push(&[b'X'; 65]);
        assert_eq!(f.next(), Err(FramingError::HeaderTooLarge { max: 64 }));
        let mut f = StreamFramer::new(64);
        f.push(b"BYE sip:b@h SIP/2.0\r\nl: 100\r\n\r\n");
        assert!(matches!(
            f.next(),
            Err(FramingError::MessageTooLarge { .. })
        ));
    }

    #[test]
    fn buffer_is_bounded() {
        let mut f = StreamFramer::new(16);
        f.push(&[b'X'; 33]);
        assert_eq!(f.buffered(), 0);
        assert_eq!(f.next(), Err(FramingError::BufferFull { max: 32 }));
    }
}
