//! The per-codec cache of a prompt's encoded 20 ms frames (issue 4,
//! "encoded once per codec into a cache of 20 ms frames"): one contiguous
//! byte buffer plus the offset where each frame starts, so playback hands
//! out `&[u8]` slices and never allocates. Frames may differ in length
//! (Opus is variable-bitrate, RFC 6716 §2.1.4); G.711 and G.722 frames are
//! all [`crate::media::FRAME_SAMPLES`] bytes.

/// Encoded frames of one prompt for one codec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameCache {
    bytes: Vec<u8>,
    /// `ends[i]` is where frame `i` ends in `bytes`; it starts at
    /// `ends[i - 1]` (or 0).
    ends: Vec<u32>,
}

impl FrameCache {
    /// An empty cache with room for `frames` frames of about `frame_len`
    /// bytes.
    pub fn with_capacity(frames: usize, frame_len: usize) -> FrameCache {
        FrameCache {
            bytes: Vec::with_capacity(frames * frame_len),
            ends: Vec::with_capacity(frames),
        }
    }

    /// Append one encoded frame.
    pub fn push(&mut self, frame: &[u8]) {
        self.bytes.extend_from_slice(frame);
        // Prompts are bounded far below 4 GiB (prompt::MAX_PROMPT_BYTES).
        self.ends.push(self.bytes.len() as u32);
    }

    /// Frame `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.bytes.get(start..end)
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Bytes held by all frames together.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// The longest frame, in bytes.
    pub fn max_frame_len(&self) -> usize {
        (0..self.len())
            .filter_map(|i| self.get(i))
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_of_different_lengths_come_back_as_pushed() {
        let mut c = FrameCache::with_capacity(3, 4);
        c.push(&[1, 2, 3]);
        c.push(&[]);
        c.push(&[4, 5, 6, 7, 8]);
        assert_eq!(c.len(), 3);
        assert_eq!(c.get(0), Some(&[1u8, 2, 3][..]));
        assert_eq!(c.get(1), Some(&[][..]));
        assert_eq!(c.get(2), Some(&[4u8, 5, 6, 7, 8][..]));
        assert_eq!(c.get(3), None);
        assert_eq!(c.byte_len(), 8);
        assert_eq!(c.max_frame_len(), 5);
    }

    #[test]
    fn an_empty_cache_has_no_frames() {
        let c = FrameCache::default();
        assert!(c.is_empty());
        assert_eq!(c.get(0), None);
        assert_eq!(c.max_frame_len(), 0);
    }
}
