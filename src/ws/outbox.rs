//! The outbound side of a socket: one writer task fed by a bounded queue
//! served by delivery lane (see `events::lanes`), and the one way every
//! part of a connection asks for it to close.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_graphql::futures_util::SinkExt;
use async_graphql::futures_util::stream::SplitSink;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use uuid::Uuid;

use super::protocol::close_reason;
use crate::events::lanes::Lane;

/// How long the writer may spend flushing queued messages and the close
/// frame to a peer that has stopped reading.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The close frame the writer sends last.
#[derive(Debug)]
struct Closing {
    code: u16,
    reason: String,
    /// Send what is already queued before the close frame (not for 1013,
    /// where the queue is full precisely because the peer does not read).
    drain: bool,
}

/// Messages waiting for the socket: one FIFO per [`Lane`], the most urgent
/// lane served first. A std `Mutex`: held only to push or pop, never across
/// an `.await`.
#[derive(Debug, Default)]
struct Lanes {
    lanes: [VecDeque<Queued>; 5],
    len: usize,
}

/// A queued message and, for worker states, whose state it carries.
#[derive(Debug)]
struct Queued {
    message: Message,
    /// (operation id, worker): a newer state of that worker for that
    /// operation supersedes this one while it waits in the location lane.
    worker: Option<(Arc<str>, Uuid)>,
}

impl Lanes {
    fn push(&mut self, message: Message, lane: Lane, worker: Option<(Arc<str>, Uuid)>) {
        if let Some(key) = &worker {
            let locations = &mut self.lanes[Lane::Location as usize];
            let before = locations.len();
            locations.retain(|q| q.worker.as_ref() != Some(key));
            self.len -= before - locations.len();
        }
        self.lanes[lane as usize].push_back(Queued { message, worker });
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Message> {
        let queued = self.lanes.iter_mut().find_map(VecDeque::pop_front)?;
        self.len -= 1;
        Some(queued.message)
    }
}

/// Shared between the writer and everything that writes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Bounded by `capacity`: subscriptions wait for room
    /// ([`Outbox::room`]); when it stays full for the grace period, the peer
    /// is not reading fast enough even with locations coalesced, and the
    /// connection is closed 1013 "try again later"; the client resumes from
    /// its last cursor. The connection task never waits on it.
    queue: Arc<Mutex<Lanes>>,
    capacity: usize,
    /// How long [`Outbox::room`] waits for a full queue to drain.
    grace: Duration,
    /// Wakes the writer when something is queued.
    ready: Arc<Notify>,
    /// Wakes those waiting for room when the writer took a message.
    drained: Arc<Notify>,
    /// The first close asked for wins.
    closing: Arc<OnceLock<Closing>>,
    /// Cancelled once a close is asked for or the socket fails.
    done: CancellationToken,
}

impl Outbox {
    /// Starts the writer task on `sink` with room for `capacity` messages.
    pub fn start(
        sink: SplitSink<WebSocket, Message>,
        capacity: usize,
        grace: Duration,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let outbox = Self {
            queue: Arc::new(Mutex::new(Lanes::default())),
            capacity,
            grace,
            ready: Arc::new(Notify::new()),
            drained: Arc::new(Notify::new()),
            closing: Arc::new(OnceLock::new()),
            done: CancellationToken::new(),
        };
        let writer = tokio::spawn(write(sink, outbox.clone()));
        (outbox, writer)
    }

    /// Queues a protocol message; false when the connection is closing.
    pub fn send(&self, text: String) -> bool {
        self.send_message(Message::Text(text.into()))
    }

    /// Queues any frame as a protocol message; false when the connection is closing.
    pub fn send_message(&self, message: Message) -> bool {
        self.enqueue(message, Lane::Control, None)
    }

    /// Queues an operation's result in its lane; `worker` names the worker
    /// whose whole state it carries. False when the connection is closing.
    pub fn send_ranked(&self, text: String, lane: Lane, worker: Option<(Arc<str>, Uuid)>) -> bool {
        self.enqueue(Message::Text(text.into()), lane, worker)
    }

    fn enqueue(&self, message: Message, lane: Lane, worker: Option<(Arc<str>, Uuid)>) -> bool {
        if self.done.is_cancelled() {
            return false;
        }
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.len >= self.capacity {
                drop(queue);
                self.close_slow();
                return false;
            }
            queue.push(message, lane, worker);
        }
        self.ready.notify_one();
        true
    }

    fn pop(&self) -> Option<Message> {
        let message = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        self.drained.notify_waiters();
        message
    }

    /// Waits until the queue has room for one more message. False when the
    /// connection is closing, or when the peer made no room within the
    /// grace period: it is then closed 1013 and resumes from its cursor.
    pub async fn room(&self) -> bool {
        let deadline = tokio::time::Instant::now() + self.grace;
        loop {
            if self.done.is_cancelled() {
                return false;
            }
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            let len = self
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len;
            if len < self.capacity {
                return true;
            }
            tokio::select! {
                _ = &mut drained => {}
                _ = self.done.cancelled() => return false,
                _ = tokio::time::sleep_until(deadline) => {
                    self.close_slow();
                    return false;
                }
            }
        }
    }

    /// Closes a connection whose peer does not read fast enough.
    fn close_slow(&self) {
        tracing::info!("outbound queue full; closing the slow connection");
        metrics::counter!("fieldsync_ws_slow_consumers_closed_total").increment(1);
        self.close_now(1013, "try again later");
    }

    /// Closes after what is already queued, with `code` and `reason`.
    pub fn close(&self, code: u16, reason: &str) {
        self.request_close(code, reason, true);
    }

    /// Closes without sending what is queued.
    fn close_now(&self, code: u16, reason: &str) {
        self.request_close(code, reason, false);
    }

    fn request_close(&self, code: u16, reason: &str, drain: bool) {
        let _ = self.closing.set(Closing {
            code,
            reason: close_reason(reason),
            drain,
        });
        self.done.cancel();
    }

    /// Resolves once the connection is closing.
    pub async fn closed(&self) {
        self.done.cancelled().await
    }

    /// True once the connection is closing.
    pub fn is_closed(&self) -> bool {
        self.done.is_cancelled()
    }
}

/// The writer task: sends queued messages, most urgent lane first, until a
/// close is asked for, then (maybe) the rest of the queue and the close frame.
async fn write(mut sink: SplitSink<WebSocket, Message>, outbox: Outbox) {
    while !outbox.done.is_cancelled() {
        let Some(message) = outbox.pop() else {
            tokio::select! {
                _ = outbox.done.cancelled() => break,
                _ = outbox.ready.notified() => continue,
            }
        };
        // A peer that stopped reading blocks the write once the socket's
        // buffers are full; closing must not wait for it.
        tokio::select! {
            sent = sink.send(message) => {
                if let Err(e) = sent {
                    tracing::debug!(error = %e, "websocket write failed");
                    outbox.done.cancel();
                    return;
                }
            }
            _ = outbox.done.cancelled() => break,
        }
    }
    let Some(closing) = outbox.closing.get() else {
        return;
    };
    let finish = async {
        if closing.drain {
            while let Some(message) = outbox.pop() {
                sink.feed(message).await?;
            }
        }
        let frame = CloseFrame {
            code: closing.code,
            reason: closing.reason.clone().into(),
        };
        sink.send(Message::Close(Some(frame))).await?;
        sink.close().await
    };
    if let Ok(Err(e)) = tokio::time::timeout(CLOSE_GRACE, finish).await {
        tracing::debug!(error = %e, "websocket close failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(message: Message) -> String {
        match message {
            Message::Text(t) => t.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn urgent_lanes_go_first_and_a_newer_worker_state_supersedes_queued_locations() {
        let mut lanes = Lanes::default();
        let op: Arc<str> = Arc::from("1");
        let worker = Uuid::now_v7();
        lanes.push(
            Message::Text("loc-1".into()),
            Lane::Location,
            Some((op.clone(), worker)),
        );
        lanes.push(Message::Text("task".into()), Lane::Assignment, None);
        lanes.push(
            Message::Text("loc-2".into()),
            Lane::Location,
            Some((op.clone(), worker)),
        );
        lanes.push(Message::Text("alert".into()), Lane::Compliance, None);
        lanes.push(Message::Text("ack".into()), Lane::Control, None);
        assert_eq!(lanes.len, 4, "loc-1 was superseded");
        let order: Vec<String> = std::iter::from_fn(|| lanes.pop()).map(text).collect();
        assert_eq!(order, ["ack", "alert", "task", "loc-2"]);
        assert_eq!(lanes.len, 0);
    }
}
