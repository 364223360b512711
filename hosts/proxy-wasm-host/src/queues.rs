//! Shared queues (`proxy_register_shared_queue` and friends), as Envoy keeps them: a
//! named FIFO of byte strings per VM id; `dequeue` of an empty queue is `Empty`, of an
//! unknown token `NotFound`. Nothing here calls `proxy_on_queue_ready`: the Envoy build
//! uses no queues (the SDK links the imports in regardless).

use std::collections::VecDeque;

use super::abi::Status;

/// The queues of one VM.
#[derive(Debug, Default)]
pub struct Queues {
    queues: Vec<(Vec<u8>, VecDeque<Vec<u8>>)>,
}

impl Queues {
    /// `proxy_register_shared_queue`: the token of `name`, made on first use.
    pub fn register(&mut self, name: &[u8]) -> u32 {
        let index = match self.queues.iter().position(|(n, _)| n == name) {
            Some(index) => index,
            None => {
                self.queues.push((name.to_vec(), VecDeque::new()));
                self.queues.len() - 1
            }
        };
        u32::try_from(index + 1).unwrap_or(u32::MAX)
    }

    /// `proxy_resolve_shared_queue`: the token of a registered `name`.
    pub fn resolve(&self, name: &[u8]) -> Result<u32, Status> {
        self.queues
            .iter()
            .position(|(n, _)| n == name)
            .and_then(|i| u32::try_from(i + 1).ok())
            .ok_or(Status::NotFound)
    }

    /// `proxy_enqueue_shared_queue`.
    pub fn enqueue(&mut self, token: u32, value: Vec<u8>) -> Status {
        match self.queue(token) {
            Some(queue) => {
                queue.push_back(value);
                Status::Ok
            }
            None => Status::NotFound,
        }
    }

    /// `proxy_dequeue_shared_queue`.
    pub fn dequeue(&mut self, token: u32) -> Result<Vec<u8>, Status> {
        self.queue(token)
            .ok_or(Status::NotFound)?
            .pop_front()
            .ok_or(Status::Empty)
    }

    fn queue(&mut self, token: u32) -> Option<&mut VecDeque<Vec<u8>>> {
        let index = usize::try_from(token.checked_sub(1)?).ok()?;
        self.queues.get_mut(index).map(|(_, q)| q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_first_in_first_out_and_unknown_tokens_are_not_found() {
        let mut q = Queues::default();
        let t = q.register(b"events");
        assert_eq!(q.register(b"events"), t);
        assert_eq!(q.resolve(b"events"), Ok(t));
        assert_eq!(q.resolve(b"other"), Err(Status::NotFound));
        assert_eq!(q.dequeue(t), Err(Status::Empty));
        assert_eq!(q.enqueue(t, b"a".to_vec()), Status::Ok);
        assert_eq!(q.enqueue(t, b"b".to_vec()), Status::Ok);
        assert_eq!(q.dequeue(t).unwrap(), b"a");
        assert_eq!(q.enqueue(99, Vec::new()), Status::NotFound);
        assert_eq!(q.dequeue(0), Err(Status::NotFound));
    }
}
