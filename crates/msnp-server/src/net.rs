//! Sockets: the accept loops and one task per connection that decodes input into the core and
//! writes the core's output, with the authentication, idle and challenge timers.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use msnp::proto::codec::{Decoder, Direction, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

use crate::config::Config;
use crate::core::{Core, NsRole, Out, Outlet};

/// State shared by every task and the handle.
pub(crate) struct Shared {
    pub core: Mutex<Core>,
    pub config: Arc<Config>,
    pub persist: Arc<Notify>,
}

impl Shared {
    /// Locks the core (a panic elsewhere never makes the lock unusable).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Which protocol a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Dispatch or notification server.
    Ns(NsRole),
    /// Switchboard.
    Sb,
}

/// Accepts connections until `stop` turns true.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    kind: Kind,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    tokio::spawn(serve(shared.clone(), stream, kind));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = stop.changed() => return,
        }
    }
}

/// Runs one connection to its end.
async fn serve(shared: Arc<Shared>, stream: TcpStream, kind: Kind) {
    let peer = stream.peer_addr().ok();
    let _ = stream.set_nodelay(true);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let outlet = Outlet::channel(tx);
    let id = {
        let mut core = shared.lock();
        match kind {
            Kind::Ns(role) => core.ns_connected(role, outlet, peer),
            Kind::Sb => core.sb_connected(outlet),
        }
    };
    let cfg = shared.config.clone();
    let limits = match kind {
        Kind::Sb => Limits::SB_SERVER,
        Kind::Ns(_) => Limits::NS_SERVER,
    };
    let mut decoder = Decoder::new(Direction::FromClient, limits);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = vec![0u8; 16 * 1024];
    let started = Instant::now();
    let mut authed = false;
    let mut last = Instant::now();
    let mut delay = Duration::ZERO;
    let mut extra_deadline: Option<Instant> = None;
    let mut abort = false;
    let far = Duration::from_secs(365 * 24 * 3600);
    loop {
        let mut deadline = started + far;
        if !authed {
            deadline = deadline.min(started + cfg.auth_timeout);
        } else if kind == Kind::Sb {
            deadline = deadline.min(last + cfg.sb_idle_timeout);
        }
        if let Some(d) = extra_deadline {
            deadline = deadline.min(d);
        }
        tokio::select! {
            r = rd.read(&mut buf) => {
                let n = match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                last = Instant::now();
                decoder.feed(buf.get(..n).unwrap_or(&[]));
                let mut core = shared.lock();
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => match kind {
                            Kind::Ns(_) => core.ns_frame(id, frame),
                            Kind::Sb => core.sb_frame(id, frame),
                        },
                        Ok(None) => break,
                        Err(_) => {
                            // Oversize or malformed framing is fatal (README.md, Payload commands).
                            match kind {
                                Kind::Ns(_) => core.close_ns(id),
                                Kind::Sb => core.close_sb(id),
                            }
                            break;
                        }
                    }
                }
                authed = match kind {
                    Kind::Ns(_) => core.ns_authenticated(id),
                    Kind::Sb => core.sb_authenticated(id),
                };
            }
            m = rx.recv() => {
                let Some(first) = m else { break };
                let mut data = Vec::new();
                let mut control = None;
                let mut next = Some(first);
                while let Some(m) = next.take() {
                    match m {
                        Out::Data(b) => {
                            data.extend_from_slice(&b);
                            if data.len() < (1 << 20) {
                                next = rx.try_recv().ok();
                            }
                        }
                        other => control = Some(other),
                    }
                }
                if !data.is_empty() {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if wr.write_all(&data).await.is_err() {
                        break;
                    }
                    last = Instant::now();
                }
                match control {
                    Some(Out::Close) => break,
                    Some(Out::Abort) => {
                        abort = true;
                        break;
                    }
                    Some(Out::SetDelay(d)) => delay = d,
                    Some(Out::Deadline(d)) => extra_deadline = d.map(Instant::from_std),
                    _ => {}
                }
            }
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    {
        let mut core = shared.lock();
        match kind {
            Kind::Ns(_) => core.ns_disconnected(id),
            Kind::Sb => core.sb_disconnected(id),
        }
    }
    drop(rx);
    if abort {
        return;
    }
    let _ = wr.shutdown().await;
    // Drain what the peer still sends for a moment so the close is a FIN, not a reset that
    // could destroy the last lines written.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while let Ok(n) = rd.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}
