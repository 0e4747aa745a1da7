//! The outbound side of a socket: one writer task fed by a bounded queue
//! served by delivery lane (see `super::lanes`), and the one way every
//! part of a connection asks for it to close.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use async_graphql::futures_util::stream::SplitSink;
use async_graphql::futures_util::{FutureExt, SinkExt};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use uuid::Uuid;

use super::lanes::Lane;
use super::protocol::close_reason;

/// How long the writer may spend flushing queued messages and the close
/// frame to a peer that has stopped reading.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// Room kept above `capacity` for protocol messages (pongs, keep-alives,
/// errors), which never wait: a queue that full is closed 1013 at once.
const CONTROL_HEADROOM: usize = 32;

/// The close frame the writer sends last.
#[derive(Debug)]
struct Closing {
    code: u16,
    reason: String,
    /// Send what is already queued before the close frame (not for 1013,
    /// where the queue is full precisely because the peer does not read).
    drain: bool,
    /// The peer closed first: its close frame is answered with the echo
    /// that tungstenite queued when it read it, not with a frame of ours.
    echo: bool,
}

/// Messages waiting for the socket: one FIFO per [`Lane`], the most urgent
/// lane served first — except that one operation's results keep their
/// order (a result waits for its operation's earlier ones, whatever their
/// lane), so a client that resumes a subscription from the cursor of the
/// last event it received never skips one still queued behind it. A std
/// `Mutex`: held only to push or pop, never across an `.await`.
#[derive(Debug)]
struct Lanes {
    lanes: [VecDeque<Queued>; 5],
    len: usize,
    /// Order of arrival, across lanes.
    next_order: u64,
    /// When the writer last took a message: a full queue is a slow peer
    /// only once the writer has made no progress for the grace period.
    last_pop: Instant,
    /// When a write last completed after waiting for the socket's buffers:
    /// the peer read, so it is alive even if it has sent nothing.
    peer_read: Option<Instant>,
}

impl Default for Lanes {
    fn default() -> Self {
        Self {
            lanes: Default::default(),
            len: 0,
            next_order: 0,
            last_pop: Instant::now(),
            peer_read: None,
        }
    }
}

/// A queued message, the operation whose result it is, and for worker
/// states, whose state it carries.
#[derive(Debug)]
struct Queued {
    message: Message,
    /// The operation id; `None` for protocol messages.
    op: Option<Arc<str>>,
    /// A newer state of this worker for the same operation supersedes this
    /// one while it waits in the location lane.
    worker: Option<Uuid>,
    order: u64,
}

impl Lanes {
    fn push(&mut self, message: Message, lane: Lane, op: Option<Arc<str>>, worker: Option<Uuid>) {
        if worker.is_some() && op.is_some() {
            let locations = &mut self.lanes[Lane::Location as usize];
            let before = locations.len();
            locations.retain(|q| !(q.worker == worker && q.op == op));
            self.len -= before - locations.len();
        }
        self.lanes[lane as usize].push_back(Queued {
            message,
            op,
            worker,
            order: self.next_order,
        });
        self.next_order += 1;
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Message> {
        // The first message, most urgent lane first, that no earlier result
        // of its own operation is waiting behind (in a less urgent lane).
        let mut earliest: HashMap<&str, u64> = HashMap::new();
        for queued in self.lanes.iter().flatten() {
            if let Some(op) = &queued.op {
                let order = earliest.entry(op).or_insert(queued.order);
                *order = (*order).min(queued.order);
            }
        }
        let pick = self.lanes.iter().enumerate().find_map(|(lane, queue)| {
            queue
                .iter()
                .position(|q| q.op.as_deref().is_none_or(|op| earliest[op] == q.order))
                .map(|at| (lane, at))
        })?;
        let queued = self.lanes[pick.0].remove(pick.1)?;
        self.len -= 1;
        self.last_pop = Instant::now();
        Some(queued.message)
    }
}

/// Shared between the writer and everything that writes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SendQueue {
    /// Bounded by `capacity`: operation results wait for room
    /// ([`SendQueue::send_waiting`]); when the writer takes nothing from a full
    /// queue for the grace period, the peer is not reading fast enough even
    /// with locations coalesced, and the connection is closed 1013 "try
    /// again later"; the client resumes from its last cursor. Protocol
    /// messages never wait (the connection task never blocks on a peer).
    queue: Arc<Mutex<Lanes>>,
    capacity: usize,
    /// How long a full queue may go without the writer taking from it.
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

impl SendQueue {
    /// Starts the writer task on `sink` with room for `capacity` messages.
    pub fn start(
        sink: SplitSink<WebSocket, Message>,
        capacity: usize,
        grace: Duration,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let sends = Self {
            queue: Arc::new(Mutex::new(Lanes::default())),
            capacity,
            grace,
            ready: Arc::new(Notify::new()),
            drained: Arc::new(Notify::new()),
            closing: Arc::new(OnceLock::new()),
            done: CancellationToken::new(),
        };
        let writer = tokio::spawn(write(sink, sends.clone()));
        (sends, writer)
    }

    /// Queues a protocol message; false when the connection is closing.
    pub fn send(&self, text: String) -> bool {
        self.send_message(Message::Text(text.into()))
    }

    /// Queues any frame as a protocol message, without waiting; false when
    /// the connection is closing. Past the control headroom, closes 1013.
    pub fn send_message(&self, message: Message) -> bool {
        if self.done.is_cancelled() {
            return false;
        }
        {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.len >= self.capacity + CONTROL_HEADROOM {
                drop(queue);
                self.close_slow();
                return false;
            }
            queue.push(message, Lane::Control, None, None);
        }
        self.ready.notify_one();
        true
    }

    /// Queues a result of operation `op` in its lane once there is room;
    /// `worker` names the worker whose whole state it carries. A replay produces far
    /// faster than any socket drains, so this is where it waits. False when
    /// the connection is closing, or when the writer took nothing from the
    /// full queue for the grace period: the connection is then closed 1013.
    pub async fn send_waiting(
        &self,
        text: String,
        lane: Lane,
        op: Arc<str>,
        worker: Option<Uuid>,
    ) -> bool {
        let mut pending = Some(Message::Text(text.into()));
        loop {
            if self.done.is_cancelled() {
                return false;
            }
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            let stalled_at = {
                let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if queue.len < self.capacity
                    && let Some(message) = pending.take()
                {
                    queue.push(message, lane, Some(op.clone()), worker);
                    drop(queue);
                    self.ready.notify_one();
                    return true;
                }
                queue.last_pop + self.grace
            };
            tokio::select! {
                _ = &mut drained => {}
                _ = self.done.cancelled() => return false,
                _ = tokio::time::sleep_until(stalled_at) => {
                    self.close_slow();
                    return false;
                }
            }
        }
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

    /// When a write last completed only after the peer made room for it:
    /// proof of life from a peer too busy reading a long replay to answer
    /// a keep-alive queued behind it.
    pub fn peer_read_at(&self) -> Option<Instant> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peer_read
    }

    fn peer_read(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peer_read = Some(Instant::now());
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

    /// Completes the closing handshake the peer began: its close frame is
    /// echoed (RFC 6455 §5.5.1), so the client sees a clean close, not 1006.
    /// Nothing queued is sent after it.
    pub fn echo_close(&self) {
        let _ = self.closing.set(Closing {
            code: 1000,
            reason: String::new(),
            drain: false,
            echo: true,
        });
        self.done.cancel();
    }

    /// Resolves when the writer should give up on a write the peer does
    /// not take: at once for a close without draining (the peer is not
    /// reading), after [`CLOSE_GRACE`] for a draining one.
    async fn abandoned(&self) {
        self.done.cancelled().await;
        if self.closing.get().is_none_or(|c| c.drain) {
            tokio::time::sleep(CLOSE_GRACE).await;
        }
    }

    fn request_close(&self, code: u16, reason: &str, drain: bool) {
        let _ = self.closing.set(Closing {
            code,
            reason: close_reason(reason),
            drain,
            echo: false,
        });
        self.done.cancel();
    }

    /// Resolves once the connection is closing.
    pub async fn closed(&self) {
        self.done.cancelled().await
    }
}

/// The writer task: sends queued messages, most urgent lane first, until a
/// close is asked for, then (maybe) the rest of the queue and the close frame.
async fn write(mut sink: SplitSink<WebSocket, Message>, sends: SendQueue) {
    while !sends.done.is_cancelled() {
        let Some(message) = sends.pop() else {
            tokio::select! {
                _ = sends.done.cancelled() => break,
                _ = sends.ready.notified() => continue,
            }
        };
        // A peer that stopped reading blocks the write once the socket's
        // buffers are full; closing must not wait for it forever.
        let mut sent = std::pin::pin!(sink.send(message));
        let result = match (&mut sent).now_or_never() {
            Some(result) => result,
            None => tokio::select! {
                result = &mut sent => {
                    sends.peer_read();
                    result
                }
                _ = sends.abandoned() => break,
            },
        };
        if let Err(e) = result {
            tracing::debug!(error = %e, "websocket write failed");
            sends.done.cancel();
            return;
        }
    }
    let Some(closing) = sends.closing.get() else {
        return;
    };
    let finish = async {
        if closing.echo {
            // tungstenite queued the echo as it read the peer's frame and
            // refuses frames of ours now; closing the sink flushes it.
            return sink.close().await;
        }
        if closing.drain {
            while let Some(message) = sends.pop() {
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

    fn drain(lanes: &mut Lanes) -> Vec<String> {
        std::iter::from_fn(|| lanes.pop()).map(text).collect()
    }

    #[test]
    fn urgent_lanes_go_first_and_a_newer_worker_state_supersedes_queued_locations() {
        let mut lanes = Lanes::default();
        let op = |id: &str| Some(Arc::<str>::from(id));
        let worker = Some(Uuid::now_v7());
        lanes.push(
            Message::Text("loc-1".into()),
            Lane::Location,
            op("1"),
            worker,
        );
        lanes.push(
            Message::Text("task".into()),
            Lane::Assignment,
            op("2"),
            None,
        );
        lanes.push(
            Message::Text("loc-2".into()),
            Lane::Location,
            op("1"),
            worker,
        );
        lanes.push(
            Message::Text("alert".into()),
            Lane::Compliance,
            op("3"),
            None,
        );
        lanes.push(Message::Text("ack".into()), Lane::Control, None, None);
        assert_eq!(lanes.len, 4, "loc-1 was superseded");
        assert_eq!(drain(&mut lanes), ["ack", "alert", "task", "loc-2"]);
        assert_eq!(lanes.len, 0);
    }

    #[test]
    fn one_operations_results_keep_their_order_across_lanes() {
        let mut lanes = Lanes::default();
        let op = |id: &str| Some(Arc::<str>::from(id));
        lanes.push(
            Message::Text("a-status".into()),
            Lane::Status,
            op("a"),
            None,
        );
        lanes.push(
            Message::Text("b-status".into()),
            Lane::Status,
            op("b"),
            None,
        );
        lanes.push(
            Message::Text("a-alert".into()),
            Lane::Compliance,
            op("a"),
            None,
        );
        lanes.push(
            Message::Text("b-alert".into()),
            Lane::Compliance,
            op("b"),
            None,
        );
        lanes.push(
            Message::Text("c-alert".into()),
            Lane::Compliance,
            op("c"),
            None,
        );
        // An operation's alert waits for its own earlier status; another
        // operation's alert overtakes them all.
        assert_eq!(
            drain(&mut lanes),
            ["c-alert", "a-status", "a-alert", "b-status", "b-alert"]
        );
    }
}
