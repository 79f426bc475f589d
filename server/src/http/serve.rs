//! The server's connections: hyper's HTTP/1 with limits on everything a client controls.
//!
//! - At most `connections_max` connections are open at once; one more is answered
//!   `503 overloaded` (JSON, `Retry-After: 1`) and closed, so the process keeps file
//!   descriptors for its database and its real clients.
//! - A request's headers must arrive within `header_timeout` (hyper's header read timeout);
//!   its body within `body_timeout` (`read_body_in_time` in `http`).
//! - A connection with no request in flight for `idle_timeout` is closed.
//! - On shutdown, connections finish the request in flight and close; after
//!   [`DRAIN_MAX`] the rest are dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Longest a closing connection may take to finish its request (after shutdown or idle).
pub const DRAIN_MAX: Duration = Duration::from_secs(30);

/// What a client may hold of the server.
#[derive(Clone, Copy, Debug)]
pub struct EdgeLimits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub connections_max: usize,
}

/// When a connection last started or finished a request, and how many are in flight.
#[derive(Default)]
struct Activity {
    busy: AtomicUsize,
    /// Milliseconds since `epoch` of the last start or end of a request.
    last_ms: AtomicU64,
    epoch: Option<Instant>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            epoch: Some(Instant::now()),
            ..Activity::default()
        }
    }

    fn now_ms(&self) -> u64 {
        self.epoch.map_or(0, |e| {
            u64::try_from(e.elapsed().as_millis()).unwrap_or(u64::MAX)
        })
    }

    fn touch(&self) {
        self.last_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// How long the connection has had no request in flight (zero while one is).
    fn idle_for(&self) -> Duration {
        if self.busy.load(Ordering::Relaxed) > 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.last_ms.load(Ordering::Relaxed)),
        )
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains the connections.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: EdgeLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.connections_max.max(1)));
    let (closing, closing_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a little rather than spin, and keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(refuse_full(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (app, closing_rx) = (app.clone(), closing_rx.clone());
        tokio::spawn(async move {
            connection(stream, app, limits, closing_rx).await;
            drop(slot);
        });
    }
    let _ = closing.send(true);
    // Every slot back: every connection closed (or the drain bound passed).
    let all = u32::try_from(limits.connections_max.max(1)).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN_MAX + Duration::from_secs(1), slots.acquire_many(all)).await;
    Ok(())
}

/// One connection, until the client closes it, it idles out, or the server shuts down.
async fn connection(
    stream: TcpStream,
    app: Router,
    limits: EdgeLimits,
    mut closing: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    activity.touch();
    let seen = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let (app, seen) = (app.clone(), Arc::clone(&seen));
        seen.busy.fetch_add(1, Ordering::Relaxed);
        seen.touch();
        async move {
            let response = app.oneshot(request.map(axum::body::Body::new)).await;
            seen.busy.fetch_sub(1, Ordering::Relaxed);
            seen.touch();
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closed_at: Option<Instant> = None;
    loop {
        let wait = match closed_at {
            Some(at) => DRAIN_MAX.saturating_sub(at.elapsed()),
            None => limits.idle_timeout.saturating_sub(activity.idle_for()),
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    // Timeouts and resets end connections all the time; nothing to alarm anyone.
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            changed = closing.changed(), if closed_at.is_none() => {
                if changed.is_err() || *closing.borrow() {
                    conn.as_mut().graceful_shutdown();
                    closed_at = Some(Instant::now());
                }
            }
            () = tokio::time::sleep(wait.max(Duration::from_millis(5))) => {
                match closed_at {
                    // The drain bound passed: drop the connection.
                    Some(_) => return,
                    None if activity.idle_for() >= limits.idle_timeout => {
                        conn.as_mut().graceful_shutdown();
                        closed_at = Some(Instant::now());
                    }
                    None => {}
                }
            }
        }
    }
}

/// The answer to a connection over the cap: a 503 in JSON, then close.
async fn refuse_full(mut stream: TcpStream) {
    const BODY: &str = r#"{"code":"overloaded","message":"the server has as many connections open as it allows; retry shortly"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}
