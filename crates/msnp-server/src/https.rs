//! The Passport endpoints of MSNP8 over HTTPS (msnp8.md §3): the nexus (`GET /rdr/pprdr.asp`,
//! answering `PassportURLs` with `DALogin`) and the login server (`GET /login` with the
//! `Authorization: Passport1.4 …` header, answering a single-use ticket in
//! `Authentication-Info`, or `401`). A test option puts a chain of `302` redirects in front of
//! the login endpoint (`/redir/N`).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use msnp::proto::passport::{parse_authorization, NEXUS_PATH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::net::Shared;

/// Time a client has for the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest life of one HTTPS connection.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// What the HTTPS tasks need besides the core.
#[derive(Clone)]
pub(crate) struct Endpoints {
    /// `https://host:port` of this listener, for `DALogin` and redirects.
    pub base: String,
    pub acceptor: TlsAcceptor,
}

/// Accepts HTTPS connections until `stop` turns true.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    endpoints: Endpoints,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => {
                    tokio::spawn(serve(shared.clone(), stream, endpoints.clone()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = stop.changed() => return,
        }
    }
}

async fn serve(shared: Arc<Shared>, stream: TcpStream, endpoints: Endpoints) {
    let _ = stream.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, endpoints.acceptor.accept(stream)).await
    {
        Ok(Ok(tls)) => tls,
        // An untrusting client aborts the handshake: nothing more to do.
        _ => return,
    };
    let base = endpoints.base.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let shared = shared.clone();
        let base = base.clone();
        async move { Ok::<_, Infallible>(handle(&shared, &base, &req)) }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .title_case_headers(true)
        .timer(TokioTimer::new())
        .keep_alive(false);
    let conn = builder.serve_connection(TokioIo::new(tls), service);
    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    set(&mut resp, "content-type", "text/plain; charset=utf-8");
    resp
}

fn set(resp: &mut Response<Full<Bytes>>, name: &'static str, value: &str) {
    if let Ok(v) = hyper::header::HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Answers one request.
fn handle(shared: &Shared, base: &str, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "405: Method Not Allowed");
    }
    let path = req.uri().path();
    if path == NEXUS_PATH {
        let login = match shared.config.login_redirects {
            0 => format!("{base}/login"),
            n => format!("{base}/redir/{n}"),
        };
        let mut resp = text(StatusCode::OK, "200: OK");
        set(
            &mut resp,
            "passporturls",
            &format!("DARealm=Passport.Net,DALogin={login},ConfigVersion=15"),
        );
        return resp;
    }
    if let Some(n) = path.strip_prefix("/redir/") {
        // msnp8.md §3.5: `302` with `da-status=redir` and a Location.
        let next = match n.parse::<u32>() {
            Ok(0 | 1) => format!("{base}/login"),
            Ok(n) => format!("{base}/redir/{}", n - 1),
            Err(_) => return text(StatusCode::NOT_FOUND, "404: Not Found"),
        };
        let mut resp = text(StatusCode::FOUND, "302: Found");
        set(&mut resp, "location", &next);
        set(
            &mut resp,
            "authentication-info",
            "Passport1.4 da-status=redir",
        );
        return resp;
    }
    if path != "/login" {
        return text(StatusCode::NOT_FOUND, "404: Not Found");
    }
    let credentials = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_authorization);
    let Some(credentials) = credentials else {
        // Escargot answers a login request without credentials with 500 (recorded/probes.txt).
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 Internal Server Error",
        );
    };
    let mut core = shared.lock();
    if !core.password_ok(&credentials.account, &credentials.password) {
        drop(core);
        let mut resp = text(StatusCode::UNAUTHORIZED, "401: Unauthorized");
        set(
            &mut resp,
            "www-authenticate",
            "Passport1.4 da-status=failed",
        );
        return resp;
    }
    let ticket = core.issue_ticket(&credentials.account);
    drop(core);
    let mut resp = text(StatusCode::OK, "200: OK");
    set(
        &mut resp,
        "authentication-info",
        &format!("Passport1.4 da-status=success,from-PP='{ticket}'"),
    );
    resp
}
