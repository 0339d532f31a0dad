//! The player's hot path allocates nothing (issue 4: "playback sends slices
//! of that cache and allocates nothing per packet"): a counting global
//! allocator watches 10,000 ticks of prompts in every codec, including
//! prompt changes, loops and barge-in. It is its own test binary so that no
//! other test allocates while the count is on.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use softacd::media::player::{Player, TickResult, PACKET_LEN};
use softacd::media::prompt::Prompt;
use softacd::media::Codec;

struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn tone(frames: usize) -> Vec<i16> {
    (0..frames * 160)
        .map(|i| ((i as f64 * 0.785).sin() * 8000.0) as i16)
        .collect()
}

/// Tick `n` times with the count on; returns (packets, bytes) sent.
fn counted_ticks(p: &mut Player, n: usize) -> (usize, usize) {
    let mut buf = [0u8; PACKET_LEN];
    let (mut packets, mut bytes) = (0usize, 0usize);
    ALLOCATIONS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    for _ in 0..n {
        match p.tick(&mut buf) {
            Ok(TickResult::Packet(len)) | Ok(TickResult::Finished(Some(len))) => {
                packets += 1;
                bytes += len;
            }
            _ => {}
        }
    }
    p.on_digit();
    p.stop();
    COUNTING.store(false, Ordering::SeqCst);
    (packets, bytes)
}

#[test]
fn ticks_allocate_nothing_in_any_codec() {
    let a = Arc::new(Prompt::from_pcm("a", &tone(100)));
    let b = Arc::new(Prompt::from_pcm("b", &tone(7)));
    let queue: Vec<Arc<Prompt>> = (0..20)
        .map(|i| if i % 2 == 0 { a.clone() } else { b.clone() })
        .collect();
    for codec in Codec::SUPPORTED {
        let mut p = Player::new(codec, codec.payload_type(), 1, 2, 3);
        // A queue of prompts played once: 10 × (100 + 7) frames.
        p.play(queue.clone(), true).unwrap();
        let (packets, bytes) = counted_ticks(&mut p, 1200);
        assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0, "{codec:?} queue");
        assert_eq!(packets, 1070, "{codec:?}: every frame sent");
        assert!(bytes > packets * 12 + packets * 20, "{codec:?} sent audio");
        // Hold music: a loop wrapping 300 times.
        p.play_loop(b.clone()).unwrap();
        let (packets, _) = counted_ticks(&mut p, 2100);
        assert_eq!(ALLOCATIONS.load(Ordering::SeqCst), 0, "{codec:?} loop");
        assert_eq!(packets, 2100, "{codec:?}: a loop never pauses");
    }
}
