//! The outbound side of a socket: one writer task fed by a bounded queue,
//! and the one way every part of a connection asks for it to close.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_graphql::futures_util::SinkExt;
use async_graphql::futures_util::stream::SplitSink;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;

use super::protocol::close_reason;

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

/// Shared between the writer and everything that writes. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Bounded: when it is full the peer is not reading fast enough, and the
    /// connection is closed 1013 "try again later" (see [`Outbox::send`]);
    /// nothing waits on it, so a slow peer never stalls the connection task
    /// or another operation.
    tx: mpsc::Sender<Message>,
    /// The first close asked for wins.
    closing: Arc<OnceLock<Closing>>,
    /// Cancelled once a close is asked for or the socket fails.
    done: CancellationToken,
}

impl Outbox {
    /// Starts the writer task on `sink` with a queue of `capacity` messages.
    pub fn start(
        sink: SplitSink<WebSocket, Message>,
        capacity: usize,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let outbox = Self {
            tx,
            closing: Arc::new(OnceLock::new()),
            done: CancellationToken::new(),
        };
        let writer = tokio::spawn(write(sink, rx, outbox.clone()));
        (outbox, writer)
    }

    /// Queues a text message; false when the connection is closing.
    pub fn send(&self, text: String) -> bool {
        self.send_message(Message::Text(text.into()))
    }

    /// Queues any frame; false when the connection is closing.
    pub fn send_message(&self, message: Message) -> bool {
        if self.done.is_cancelled() {
            return false;
        }
        match self.tx.try_send(message) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::info!("outbound queue full; closing the slow connection");
                self.close_now(1013, "try again later");
                false
            }
            Err(TrySendError::Closed(_)) => {
                self.done.cancel();
                false
            }
        }
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

/// The writer task: sends queued messages in order until a close is asked
/// for, then (maybe) the rest of the queue and the close frame.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Message>,
    outbox: Outbox,
) {
    loop {
        tokio::select! {
            biased;
            _ = outbox.done.cancelled() => break,
            message = rx.recv() => {
                let Some(message) = message else { break };
                if let Err(e) = sink.send(message).await {
                    tracing::debug!(error = %e, "websocket write failed");
                    outbox.done.cancel();
                    return;
                }
            }
        }
    }
    let Some(closing) = outbox.closing.get() else {
        return;
    };
    let finish = async {
        if closing.drain {
            while let Ok(message) = rx.try_recv() {
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
