//! The pure part of the Tweener (Passport 1.4) sign-in of MSNP8 (msnp8.md §3): the percent
//! encoding of account and password, the `Authorization` header, the request header lists, and
//! the parsing of the nexus (`PassportURLs`) and login-server (`Authentication-Info`) answers.
//! The HTTPS exchanges themselves are in `client::passport`.

use std::fmt;

use thiserror::Error;

use super::names::percent_decode_bytes;

/// `OrgVerb=GET,OrgURL=…` constant items of the `Authorization` header, byte for byte.
pub const ORG_ITEMS: &str = "OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom";
/// The `User-Agent` the official client sent.
pub const USER_AGENT: &str = "MSMSGS";
/// The path of the nexus request.
pub const NEXUS_PATH: &str = "/rdr/pprdr.asp";
/// The historical nexus (documentation only: it no longer exists).
pub const HISTORICAL_NEXUS_URL: &str = "https://nexus.passport.com/rdr/pprdr.asp";
/// At most this many `302` redirects of the login server are followed (msnp8.md §3.5).
pub const MAX_LOGIN_REDIRECTS: u32 = 5;

/// Bytes kept as they are by [`passport_encode`]: `A`–`Z`, `a`–`z`, `0`–`9`, `-`, `_`, `.`, `~`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes an account or password for the `Authorization` header (msnp8.md §3.4):
/// every byte of the UTF-8 text but the unreserved ones becomes `%` and two upper-case hex
/// digits (so a space is `%20`, never `+`).
pub fn passport_encode(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() * 3);
    for &b in text.as_bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// The value of the `Authorization` header of the login request:
/// `Passport1.4 OrgVerb=GET,OrgURL=…,sign-in=ACCOUNT,pwd=PASSWORD,CHALLENGE`, with the challenge
/// appended unchanged. It contains the password: never log it.
pub fn authorization_value(account: &str, password: &str, challenge: &str) -> String {
    format!(
        "Passport1.4 {ORG_ITEMS},sign-in={},pwd={},{challenge}",
        passport_encode(account),
        passport_encode(password)
    )
}

/// The credentials of an `Authorization` header as a login server reads them (the Escargot
/// rule): split the value after `Passport1.4 ` on `,`, each item at the first `=`, and
/// percent-decode `sign-in` and `pwd` (a `+` stays a `+`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The decoded account.
    pub account: String,
    /// The decoded password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Reads `sign-in` and `pwd` from an `Authorization` value (the server side of §3.4).
pub fn parse_authorization(value: &str) -> Option<Credentials> {
    let rest = value.trim().strip_prefix("Passport1.4")?.trim_start();
    let mut account = None;
    let mut password = None;
    for item in rest.split(',') {
        let (key, val) = item.split_once('=').unwrap_or((item, ""));
        let decoded = || String::from_utf8(percent_decode_bytes(val)).ok();
        match key.trim() {
            "sign-in" => account = decoded(),
            "pwd" => password = decoded(),
            _ => {}
        }
    }
    Some(Credentials {
        account: account?,
        password: password?,
    })
}

/// The headers of the nexus request, in order (msnp8.md §3.3): `Host`, `User-Agent`,
/// `Connection: close`.
pub fn nexus_request_headers(host: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Host", host.to_string()),
        ("User-Agent", USER_AGENT.to_string()),
        ("Connection", "close".to_string()),
    ]
}

/// The headers of the login request, in order (msnp8.md §7): `Host`, `Authorization`,
/// `User-Agent`, `Connection: close`.
pub fn login_request_headers(host: &str, authorization: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Host", host.to_string()),
        ("Authorization", authorization.to_string()),
        ("User-Agent", USER_AGENT.to_string()),
        ("Connection", "close".to_string()),
    ]
}

/// The bytes of a `GET` request head with these headers (for tests and traces; the client sends
/// the same through its HTTP library).
pub fn request_head(path: &str, headers: &[(&str, String)]) -> String {
    let mut out = format!("GET {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out
}

/// The value of the first header named `name` (compared case-insensitively: Escargot's
/// `PassportURLs` arrives as `Passporturls`).
pub fn find_header<'a, N: AsRef<str>, V: AsRef<str>>(
    headers: &'a [(N, V)],
    name: &str,
) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.as_ref().trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_ref().trim())
}

/// The login-server URL from a `PassportURLs` value (msnp8.md §3.3): the `DALogin` item, with
/// `https://` put in front unless it already has a scheme.
pub fn login_url_from_passport_urls(value: &str) -> Option<String> {
    let da_login = value
        .split(',')
        .filter_map(|item| item.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("DALogin"))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())?;
    let lower = da_login.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        Some(da_login.to_string())
    } else {
        Some(format!("https://{da_login}"))
    }
}

/// The `da-status` item of an `Authentication-Info` or `WWW-Authenticate` value.
pub fn da_status(value: &str) -> Option<&str> {
    let rest = value.trim().strip_prefix("Passport1.4").unwrap_or(value);
    rest.split(',')
        .filter_map(|item| item.trim().split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("da-status"))
        .map(|(_, v)| v.trim())
}

/// The ticket of an `Authentication-Info` value (msnp8.md §3.6): after `from-PP=`, up to the
/// closing `'` when quoted, else up to the next `,`. `None` when absent or empty.
pub fn extract_ticket(value: &str) -> Option<String> {
    let start = value.find("from-PP=")? + "from-PP=".len();
    let rest = value.get(start..)?;
    let ticket = match rest.strip_prefix('\'') {
        Some(quoted) => quoted.split_once('\'')?.0,
        None => rest.split(',').next().unwrap_or(""),
    };
    let ticket = ticket.trim();
    (!ticket.is_empty()).then(|| ticket.to_string())
}

/// Whether a ticket can go into `USR … TWN S` (one parameter: no space or control character).
pub fn is_valid_ticket(ticket: &str) -> bool {
    !ticket.is_empty()
        && ticket.len() <= 2048
        && ticket.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80)
}

/// Why the Passport step failed. Plain data, so it can travel in events.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PassportError {
    /// `401` from the login server: wrong e-mail address or password. Never retried on its own.
    #[error("wrong e-mail address or password")]
    WrongPassword,
    /// The nexus or login server could not be reached (refused, timed out, DNS).
    #[error("the Passport server {url} cannot be reached: {reason}")]
    Unreachable {
        /// What was being contacted.
        url: String,
        /// The network error.
        reason: String,
    },
    /// TLS failed: most often a certificate that is not trusted (add its CA file) or a host name
    /// that does not match.
    #[error("secure connection to {url} failed: {reason} (if this server uses its own certificate authority, add its CA file)")]
    Certificate {
        /// What was being contacted.
        url: String,
        /// The TLS error.
        reason: String,
    },
    /// The server answered something unusable (no `DALogin`, no ticket, an unexpected status).
    #[error("the Passport server answered unexpectedly: {0}")]
    BadResponse(String),
    /// Too many `302` redirects, or a redirect to a plain `http://` URL from `https://`.
    #[error("the Passport login was redirected too often or to an insecure address ({0})")]
    Redirect(String),
    /// The configuration cannot be used (bad URL, unreadable CA file).
    #[error("Passport configuration: {0}")]
    Config(String),
    /// The whole exchange took too long.
    #[error("the Passport sign-in timed out")]
    Timeout,
}

impl PassportError {
    /// Whether trying again later (with backoff) may help without the user changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PassportError::Unreachable { .. }
                | PassportError::BadResponse(_)
                | PassportError::Timeout
        )
    }
}

/// What a login-server answer means (msnp8.md §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAnswer {
    /// `200` with a ticket.
    Ticket(String),
    /// `302`: ask this URL (absolute or relative to the one asked) with the same request.
    Redirect(String),
    /// Any failure.
    Failed(PassportError),
}

/// Interprets a login-server answer: decided by the status first, confirmed with `da-status`.
pub fn classify_login_answer<N: AsRef<str>, V: AsRef<str>>(
    status: u16,
    headers: &[(N, V)],
) -> LoginAnswer {
    let info = find_header(headers, "Authentication-Info");
    match status {
        200 => match info.and_then(extract_ticket) {
            Some(t) if is_valid_ticket(&t) => LoginAnswer::Ticket(t),
            Some(_) => LoginAnswer::Failed(PassportError::BadResponse(
                "the ticket contains spaces or control characters".into(),
            )),
            None => LoginAnswer::Failed(PassportError::BadResponse(
                "200 without a from-PP ticket".into(),
            )),
        },
        301 | 302 | 303 | 307 | 308 => match find_header(headers, "Location") {
            Some(loc) if !loc.is_empty() => LoginAnswer::Redirect(loc.to_string()),
            _ => LoginAnswer::Failed(PassportError::BadResponse(format!(
                "{status} without a Location"
            ))),
        },
        401 => LoginAnswer::Failed(PassportError::WrongPassword),
        other => LoginAnswer::Failed(PassportError::BadResponse(format!(
            "HTTP status {other} from the login server"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_vectors() {
        // msnp8.md §8.1
        for (input, encoded) in [
            ("alice@example.com", "alice%40example.com"),
            ("carol@example.com", "carol%40example.com"),
            ("p@ss w0rd,%!", "p%40ss%20w0rd%2C%25%21"),
            ("carolpw", "carolpw"),
            ("pässwörd", "p%C3%A4ssw%C3%B6rd"),
            ("a+b=c'd", "a%2Bb%3Dc%27d"),
            ("~._-", "~._-"),
            ("日本", "%E6%97%A5%E6%9C%AC"),
        ] {
            assert_eq!(passport_encode(input), encoded, "{input}");
        }
    }

    #[test]
    fn authorization_vectors() {
        // msnp8.md §8.2
        let escargot = authorization_value(
            "alice@example.com",
            "p@ss w0rd,%!",
            "ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1",
        );
        assert_eq!(
            format!("Authorization: {escargot}"),
            "Authorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=p%40ss%20w0rd%2C%25%21,ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1"
        );
        let historical = authorization_value(
            "alice@example.com",
            "p@ss w0rd,%!",
            "lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1700000000,kpp=1,kv=5,ver=2.1.0173.1,tpf=0aafecc630c585423b4d729945401741",
        );
        assert_eq!(
            format!("Authorization: {historical}"),
            "Authorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=alice%40example.com,pwd=p%40ss%20w0rd%2C%25%21,lc=1033,id=507,tw=40,fs=1,ru=http%3A%2F%2Fmessenger%2Emsn%2Ecom,ct=1700000000,kpp=1,kv=5,ver=2.1.0173.1,tpf=0aafecc630c585423b4d729945401741"
        );
        // The server's view (§8.2, last paragraph).
        for value in [&escargot, &historical] {
            let c = parse_authorization(value).unwrap();
            assert_eq!(c.account, "alice@example.com");
            assert_eq!(c.password, "p@ss w0rd,%!");
            assert!(!format!("{c:?}").contains("w0rd"));
        }
        assert_eq!(parse_authorization("Basic abc"), None);
        assert_eq!(parse_authorization("Passport1.4 sign-in=a%40b.c"), None);
        // A '+' stays a '+'.
        let c = parse_authorization("Passport1.4 sign-in=a%40b.c,pwd=a+b").unwrap();
        assert_eq!(c.password, "a+b");
    }

    #[test]
    fn ticket_vectors() {
        // msnp8.md §8.3
        assert_eq!(
            extract_ticket("Passport1.4 da-status=success,from-PP='2e1d001d1a3c247a084d'")
                .as_deref(),
            Some("2e1d001d1a3c247a084d")
        );
        assert_eq!(
            extract_ticket("Passport1.4 da-status=success,tname=MSPAuth,tname=MSPProf,tname=MSPSec,from-PP='t=4Ab3LfQzA9kW*1xYt7uVn2M8sDc0pGh5Ej6Rr$$&p=9Zq2Hw4Kx7Pm1Ty3!Uv6Bn8Cd0Fg5Jl$$',ru=http://messenger.msn.com").as_deref(),
            Some("t=4Ab3LfQzA9kW*1xYt7uVn2M8sDc0pGh5Ej6Rr$$&p=9Zq2Hw4Kx7Pm1Ty3!Uv6Bn8Cd0Fg5Jl$$")
        );
        assert_eq!(
            extract_ticket(
                "Passport1.4 da-status=success,from-PP=1puExample9,ru=http://partner.example.com/"
            )
            .as_deref(),
            Some("1puExample9")
        );
        assert_eq!(extract_ticket("Passport1.4 da-status=redir"), None);
        assert_eq!(extract_ticket("Passport1.4 from-PP=''"), None);
        assert_eq!(extract_ticket("Passport1.4 from-PP='unterminated"), None);
        assert_eq!(
            da_status("Passport1.4 da-status=success,from-PP='x'"),
            Some("success")
        );
        assert_eq!(da_status("Passport1.4 da-status=failed"), Some("failed"));
    }

    #[test]
    fn da_login_vectors() {
        // msnp8.md §8.4
        assert_eq!(
            login_url_from_passport_urls(
                "DARealm=Passport.Net,DALogin=login.example.com/login2.srf,ConfigVersion=15"
            )
            .as_deref(),
            Some("https://login.example.com/login2.srf")
        );
        assert_eq!(
            login_url_from_passport_urls("DALogin=https://login.example.com/login").as_deref(),
            Some("https://login.example.com/login")
        );
        assert_eq!(
            login_url_from_passport_urls("DALogin=HTTP://login.example.com/x").as_deref(),
            Some("HTTP://login.example.com/x")
        );
        assert_eq!(login_url_from_passport_urls("DARealm=Passport.Net"), None);
        assert_eq!(login_url_from_passport_urls("DALogin="), None);
        // The header name is matched in any case (Escargot: `Passporturls`).
        let headers = [("Passporturls", "DALogin=https://login.example.com/login")];
        assert_eq!(
            find_header(&headers, "PassportURLs"),
            Some("DALogin=https://login.example.com/login")
        );
    }

    #[test]
    fn login_answers() {
        let ok = [(
            "Authentication-Info",
            "Passport1.4 da-status=success,from-PP='2e1d001d1a3c247a084d'",
        )];
        assert_eq!(
            classify_login_answer(200, &ok),
            LoginAnswer::Ticket("2e1d001d1a3c247a084d".into())
        );
        let redir = [
            ("Location", "https://login2.example.com/login2.srf?lc=1033"),
            ("Authentication-Info", "Passport1.4 da-status=redir"),
        ];
        assert_eq!(
            classify_login_answer(302, &redir),
            LoginAnswer::Redirect("https://login2.example.com/login2.srf?lc=1033".into())
        );
        let failed = [("WWW-Authenticate", "Passport1.4 da-status=failed")];
        assert_eq!(
            classify_login_answer(401, &failed),
            LoginAnswer::Failed(PassportError::WrongPassword)
        );
        assert!(matches!(
            classify_login_answer(500, &failed),
            LoginAnswer::Failed(PassportError::BadResponse(_))
        ));
        assert!(matches!(
            classify_login_answer(200, &failed),
            LoginAnswer::Failed(PassportError::BadResponse(_))
        ));
        let spaced = [(
            "authentication-info",
            "Passport1.4 da-status=success,from-PP='a b'",
        )];
        assert!(matches!(
            classify_login_answer(200, &spaced),
            LoginAnswer::Failed(_)
        ));
    }

    #[test]
    fn request_heads_match_the_reference() {
        // msnp8.md §7
        let nexus = request_head(NEXUS_PATH, &nexus_request_headers("nexus.example.com"));
        assert_eq!(
            nexus,
            "GET /rdr/pprdr.asp HTTP/1.1\r\nHost: nexus.example.com\r\nUser-Agent: MSMSGS\r\nConnection: close\r\n\r\n"
        );
        let auth = authorization_value(
            "carol@example.com",
            "carolpw",
            "ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1",
        );
        let login = request_head("/login", &login_request_headers("login.example.com", &auth));
        assert_eq!(
            login,
            "GET /login HTTP/1.1\r\nHost: login.example.com\r\nAuthorization: Passport1.4 OrgVerb=GET,OrgURL=http%3A%2F%2Fmessenger%2Emsn%2Ecom,sign-in=carol%40example.com,pwd=carolpw,ct=1,rver=1,wp=FS_40SEC_0_COMPACT,lc=1,id=1\r\nUser-Agent: MSMSGS\r\nConnection: close\r\n\r\n"
        );
    }
}
