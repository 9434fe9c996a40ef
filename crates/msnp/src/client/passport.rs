//! The Passport 1.4 ("Tweener") sign-in of MSNP8 over HTTPS (msnp8.md §3): ask the nexus for the
//! login server (`DALogin`), send the login request with the `Authorization` header, follow at
//! most five redirects, and return the `from-PP` ticket.
//!
//! TLS is rustls with the webpki root certificates; certificate and host-name verification are
//! always on. A CA file given in [`super::ClientConfig::extra_ca_file`] is trusted in addition
//! (for LAN and test servers with their own CA). Plain `http://` is used only when the user
//! configured such a URL, and a redirect never goes from `https://` to `http://`. Every step has
//! a time-out. The password is only ever put into the `Authorization` header, never logged.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::Uri;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;

use crate::proto::passport::{
    authorization_value, classify_login_answer, find_header, login_request_headers,
    login_url_from_passport_urls, nexus_request_headers, LoginAnswer, PassportError,
    MAX_LOGIN_REDIRECTS, NEXUS_PATH,
};

/// Time allowed for one TCP connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one HTTP exchange (TLS handshake, request, response head).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Time allowed for the whole Passport step (below the notification session's limit,
/// [`crate::proto::ns::PASSPORT_TIMEOUT`]).
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(45);

/// Where the Passport servers are, and what to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassportConfig {
    /// The nexus URL (`https://host/rdr/pprdr.asp`).
    pub nexus_url: String,
    /// A login-server URL that bypasses the nexus.
    pub login_url: Option<String>,
    /// A PEM file of CA certificates trusted in addition to the built-in roots.
    pub extra_ca_file: Option<PathBuf>,
}

/// The nexus URL used when none is configured: `https://<host of the server>/rdr/pprdr.asp`
/// (msnp8.md §3.3 rule 5: an Escargot server's login host).
pub fn default_nexus_url(server: &str) -> String {
    let host = match server.rsplit_once(':') {
        // An IPv6 literal without brackets has several colons: keep it whole.
        Some((h, port)) if !h.contains(':') || h.ends_with(']') => {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                server
            }
        }
        _ => server,
    };
    format!("https://{host}{NEXUS_PATH}")
}

/// A Passport client: its TLS configuration and the login URL learnt from the nexus.
pub struct PassportClient {
    config: PassportConfig,
    tls: Arc<rustls::ClientConfig>,
    /// `DALogin` from the nexus, kept for the session (asked again after a failure other
    /// than 401).
    login_url: Mutex<Option<String>>,
}

impl std::fmt::Debug for PassportClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassportClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The rustls configuration: built-in roots plus the CA certificates of `extra_ca`.
pub fn tls_config(extra_ca: Option<&Path>) -> Result<rustls::ClientConfig, PassportError> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca {
        let unreadable = |e: &dyn std::fmt::Display| {
            PassportError::Config(format!("CA file {}: {e}", path.display()))
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| unreadable(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| unreadable(&e))?;
        if certs.is_empty() {
            return Err(unreadable(&"no PEM certificate in the file"));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| unreadable(&e))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PassportError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

impl PassportClient {
    /// A client for `config` (reads the CA file now).
    pub fn new(config: PassportConfig) -> Result<Self, PassportError> {
        let tls = Arc::new(tls_config(config.extra_ca_file.as_deref())?);
        Ok(PassportClient {
            config,
            tls,
            login_url: Mutex::new(None),
        })
    }

    fn cached_login_url(&self) -> Option<String> {
        self.config.login_url.clone().or_else(|| {
            self.login_url
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        })
    }

    fn set_cached_login_url(&self, url: Option<String>) {
        *self.login_url.lock().unwrap_or_else(|e| e.into_inner()) = url;
    }

    /// Asks the nexus for the login server's URL.
    pub async fn login_server(&self) -> Result<String, PassportError> {
        let url = parse_url(&self.config.nexus_url)?;
        let host = host_header(&url);
        let head = self.get(&url, nexus_request_headers(&host)).await?;
        if head.status != 200 {
            return Err(PassportError::BadResponse(format!(
                "HTTP status {} from the nexus",
                head.status
            )));
        }
        find_header(&head.headers, "PassportURLs")
            .and_then(login_url_from_passport_urls)
            .ok_or_else(|| {
                PassportError::BadResponse("the nexus answer has no PassportURLs DALogin".into())
            })
    }

    /// Gets a ticket for `challenge` (the string of `USR … TWN S`), within [`TOTAL_TIMEOUT`].
    pub async fn ticket(
        &self,
        account: &str,
        password: &str,
        challenge: &str,
    ) -> Result<String, PassportError> {
        match tokio::time::timeout(
            TOTAL_TIMEOUT,
            self.ticket_inner(account, password, challenge),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(PassportError::Timeout),
        }
    }

    async fn ticket_inner(
        &self,
        account: &str,
        password: &str,
        challenge: &str,
    ) -> Result<String, PassportError> {
        let login = match self.cached_login_url() {
            Some(u) => u,
            None => {
                let u = self.login_server().await?;
                self.set_cached_login_url(Some(u.clone()));
                u
            }
        };
        let result = self.login(&login, account, password, challenge).await;
        if matches!(&result, Err(e) if *e != PassportError::WrongPassword) {
            // msnp8.md §3.3 rule 4: after a failure other than 401, ask the nexus again.
            self.set_cached_login_url(None);
        }
        result
    }

    async fn login(
        &self,
        login_url: &str,
        account: &str,
        password: &str,
        challenge: &str,
    ) -> Result<String, PassportError> {
        let authorization = authorization_value(account, password, challenge);
        let mut url = parse_url(login_url)?;
        let mut redirects = 0;
        loop {
            let headers = login_request_headers(&host_header(&url), &authorization);
            let head = self.get(&url, headers).await?;
            match classify_login_answer(head.status, &head.headers) {
                LoginAnswer::Ticket(t) => return Ok(t),
                LoginAnswer::Failed(e) => return Err(e),
                LoginAnswer::Redirect(location) => {
                    redirects += 1;
                    if redirects > MAX_LOGIN_REDIRECTS {
                        return Err(PassportError::Redirect(format!(
                            "more than {MAX_LOGIN_REDIRECTS} redirects"
                        )));
                    }
                    let next = resolve(&url, &location)?;
                    if url.scheme_str() == Some("https") && next.scheme_str() != Some("https") {
                        return Err(PassportError::Redirect(format!(
                            "refused to follow {location} from a secure address"
                        )));
                    }
                    url = next;
                }
            }
        }
    }

    /// One `GET` over a fresh connection; returns the status and the headers.
    async fn get(
        &self,
        url: &Uri,
        headers: Vec<(&'static str, String)>,
    ) -> Result<ResponseHead, PassportError> {
        let shown = url_for_errors(url);
        let unreachable = |reason: String| PassportError::Unreachable {
            url: shown.clone(),
            reason,
        };
        let https = match url.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => {
                return Err(PassportError::Config(format!(
                    "{shown}: not an http(s) URL"
                )))
            }
        };
        let host = url
            .host()
            .ok_or_else(|| PassportError::Config(format!("{shown}: no host")))?;
        let bare_host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = url.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = match tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((bare_host.as_str(), port)),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(unreachable(e.to_string())),
            Err(_) => return Err(unreachable("connection timed out".into())),
        };
        let _ = tcp.set_nodelay(true);
        let path = url
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        let exchange = async {
            if https {
                let name = ServerName::try_from(bare_host.clone()).map_err(|e| {
                    PassportError::Config(format!("{shown}: invalid host name: {e}"))
                })?;
                let connector = tokio_rustls::TlsConnector::from(self.tls.clone());
                let tls = connector.connect(name, tcp).await.map_err(|e| {
                    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                        Some(tls_error) => PassportError::Certificate {
                            url: shown.clone(),
                            reason: tls_error.to_string(),
                        },
                        None => unreachable(e.to_string()),
                    }
                })?;
                request(TokioIo::new(tls), &path, headers, &shown).await
            } else {
                request(TokioIo::new(tcp), &path, headers, &shown).await
            }
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err(unreachable("no answer in time".into())),
        }
    }
}

/// Runs the Passport step for `challenge` in the background (on the current tokio runtime) and
/// hands the result to `done`. `slot` keeps the client, and so the nexus answer, between
/// sign-ins; it is created on first use from `config`.
pub(crate) fn spawn_ticket(
    slot: &mut Option<Arc<PassportClient>>,
    config: &super::ClientConfig,
    challenge: String,
    done: impl FnOnce(Result<String, PassportError>) + Send + 'static,
) {
    let client = match slot {
        Some(c) => c.clone(),
        None => match PassportClient::new(config.passport()) {
            Ok(c) => {
                let c = Arc::new(c);
                *slot = Some(c.clone());
                c
            }
            Err(e) => return done(Err(e)),
        },
    };
    let account = config.account.clone();
    let password = config.password.clone();
    tokio::spawn(async move {
        done(client.ticket(&account, &password, &challenge).await);
    });
}

/// The status and headers of an answer (the body is not needed).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ResponseHead {
    status: u16,
    headers: Vec<(String, String)>,
}

async fn request<IO>(
    io: IO,
    path: &str,
    headers: Vec<(&'static str, String)>,
    shown: &str,
) -> Result<ResponseHead, PassportError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let broken = |e: hyper::Error| PassportError::Unreachable {
        url: shown.to_string(),
        reason: e.to_string(),
    };
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake::<_, Empty<Bytes>>(io)
        .await
        .map_err(broken)?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut builder = hyper::Request::builder().method("GET").uri(path);
    for (name, value) in &headers {
        builder = builder.header(*name, value.as_str());
    }
    let req = builder
        .body(Empty::<Bytes>::new())
        .map_err(|e| PassportError::Config(format!("cannot build the request: {e}")))?;
    let result = sender.send_request(req).await;
    driver.abort();
    let resp = result.map_err(broken)?;
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(ResponseHead {
        status: resp.status().as_u16(),
        headers,
    })
}

fn parse_url(text: &str) -> Result<Uri, PassportError> {
    let uri: Uri = text
        .trim()
        .parse()
        .map_err(|e| PassportError::Config(format!("invalid URL {text:?}: {e}")))?;
    if uri.scheme().is_none() || uri.host().is_none() {
        return Err(PassportError::Config(format!(
            "invalid URL {text:?}: scheme and host needed"
        )));
    }
    Ok(uri)
}

/// A redirect target: an absolute URL, or a path on the same server.
fn resolve(base: &Uri, location: &str) -> Result<Uri, PassportError> {
    if location.starts_with('/') && !location.starts_with("//") {
        let scheme = base.scheme_str().unwrap_or("https");
        let authority = base.authority().map_or("", |a| a.as_str());
        return parse_url(&format!("{scheme}://{authority}{location}"));
    }
    parse_url(location).map_err(|_| PassportError::Redirect(format!("bad Location {location:?}")))
}

/// The `Host` header: the host, with the port when it is not the scheme's default.
fn host_header(url: &Uri) -> String {
    let host = url.host().unwrap_or("");
    let default = if url.scheme_str() == Some("http") {
        80
    } else {
        443
    };
    match url.port_u16() {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host.to_string(),
    }
}

/// A URL for error messages: scheme, host and path, no query (it might carry anything).
fn url_for_errors(url: &Uri) -> String {
    format!(
        "{}://{}{}",
        url.scheme_str().unwrap_or(""),
        url.authority().map_or("", |a| a.as_str()),
        url.path()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_nexus_from_server_address() {
        assert_eq!(
            default_nexus_url("msn.example.com:1863"),
            "https://msn.example.com/rdr/pprdr.asp"
        );
        assert_eq!(
            default_nexus_url("msn.example.com"),
            "https://msn.example.com/rdr/pprdr.asp"
        );
        assert_eq!(
            default_nexus_url("[::1]:1863"),
            "https://[::1]/rdr/pprdr.asp"
        );
    }

    #[test]
    fn hosts_and_redirects() {
        let u = parse_url("https://login.example.com/login2.srf").unwrap();
        assert_eq!(host_header(&u), "login.example.com");
        let u = parse_url("https://127.0.0.1:8443/login").unwrap();
        assert_eq!(host_header(&u), "127.0.0.1:8443");
        let r = resolve(&u, "/redir/1?x=1").unwrap();
        assert_eq!(r.to_string(), "https://127.0.0.1:8443/redir/1?x=1");
        let r = resolve(&u, "https://login2.example.com/login2.srf?lc=1033").unwrap();
        assert_eq!(r.host(), Some("login2.example.com"));
        assert!(resolve(&u, "not a url").is_err());
        assert!(parse_url("login.example.com/login2.srf").is_err());
    }

    #[test]
    fn ca_file_errors_are_clear() {
        let err = tls_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(matches!(err, PassportError::Config(ref m) if m.contains("/nonexistent/ca.pem")));
        assert!(tls_config(None).is_ok());
    }
}
