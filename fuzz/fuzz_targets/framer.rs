//! `StreamFramer` over a stream cut into chunks at points the input chooses. Invariants:
//!
//! - no byte is lost, added or reordered: the pieces, in order, are the stream;
//! - the messages are the same whatever the split: the same as when the whole stream
//!   arrives in one read.
//!
//! Input: one byte choosing the limits, one byte `n`, `n % 17` split points of two bytes
//! each, then the stream.
#![no_main]

use e911_engine::ENGINE_LIMITS;
use e911_fuzz::Choices;
use e911_sip::{Limits, Piece, StreamFramer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let limits = limits(choices.byte());
    let count = usize::from(choices.byte() % 17);
    let mut splits: Vec<u16> = (0..count).map(|_| choices.u16()).collect();
    let stream = choices.rest();
    splits.sort_unstable();

    let whole = frame(&[stream], &limits);
    let chunks = cut(stream, &splits);
    let chunked = frame(&chunks, &limits);

    assert_eq!(
        whole.bytes, stream,
        "one read: the pieces are not the stream"
    );
    assert_eq!(
        chunked.bytes,
        stream,
        "{} reads: the pieces are not the stream",
        chunks.len()
    );
    assert_eq!(
        whole.messages, chunked.messages,
        "the messages depend on how the stream was cut: {splits:?}"
    );
});

/// Small limits reach the oversize and resynchronising paths with small inputs.
fn limits(choice: u8) -> Limits {
    match choice % 4 {
        0 => ENGINE_LIMITS,
        1 => Limits::DEFAULT,
        2 => Limits {
            max_message_bytes: 300,
            max_header_bytes: 200,
            max_headers: 8,
            ..ENGINE_LIMITS
        },
        _ => Limits {
            max_message_bytes: 64,
            max_header_bytes: 48,
            max_headers: 3,
            ..Limits::DEFAULT
        },
    }
}

fn cut<'a>(stream: &'a [u8], splits: &[u16]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut from = 0;
    for &at in splits {
        let at = usize::from(at).min(stream.len()).max(from);
        chunks.push(&stream[from..at]);
        from = at;
    }
    chunks.push(&stream[from..]);
    chunks
}

#[derive(Default)]
struct Framed {
    bytes: Vec<u8>,
    messages: Vec<Vec<u8>>,
}

fn frame(chunks: &[&[u8]], limits: &Limits) -> Framed {
    let mut framer = StreamFramer::default();
    let mut out = Framed::default();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        framer.feed(chunk, last, limits, |piece| match piece {
            Piece::Message(m) => {
                out.bytes.extend_from_slice(m);
                out.messages.push(m.to_vec());
            }
            Piece::KeepAlive(b) | Piece::Unframed { bytes: b, .. } => {
                out.bytes.extend_from_slice(b)
            }
        });
    }
    assert_eq!(
        framer.pending(),
        0,
        "bytes kept after the end of the stream"
    );
    out
}
