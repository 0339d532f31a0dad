//! The media shell's error enum: one per layer, naming the place and the
//! cause. Shared by [`super::MediaHandle`] and [`crate::media::relay`].

use std::net::IpAddr;

use thiserror::Error;

use super::StreamId;
use crate::media::player::PlayerError;

/// Why a media runtime or relay request failed.
#[derive(Debug, Error)]
pub enum MediaError {
    #[error("media: port range {min}..={max} holds no even port")]
    BadPortRange { min: u16, max: u16 },
    #[error("media: no free even port in {min}..={max} on {ip}")]
    NoFreePort { ip: IpAddr, min: u16, max: u16 },
    #[error("media: socket setup on {ip}: {source}")]
    Socket { ip: IpAddr, source: std::io::Error },
    #[error("media: {max} streams already open")]
    TooManyStreams { max: usize },
    #[error("media: stream {0} is already open")]
    DuplicateStream(StreamId),
    #[error("media: unknown prompt {0:?}")]
    UnknownPrompt(String),
    #[error("media: stream {id}: {source}")]
    Player { id: StreamId, source: PlayerError },
    #[error("media: command queue full, request dropped")]
    Busy,
    #[error("media: the runtime has stopped")]
    Stopped,
    #[error("media: random source failed: {0}")]
    Random(String),
    #[error("media: not called from inside a tokio runtime")]
    NoRuntime,
}
