//! Authentication helpers: the MD5 login hash and the CHL/QRY challenge answer (MSNP6–MSNP10).

use md5::{Digest, Md5};

/// Product id sent in `QRY` by the official 4.x clients (notification.md §6).
pub const CHALLENGE_CLIENT_ID: &str = "msmsgs@msnmsgr.com";
/// The secret key that belongs to [`CHALLENGE_CLIENT_ID`]; hashed, never sent.
pub const CHALLENGE_CLIENT_KEY: &str = "Q1P7W2E4J9R8U3S5";

/// Every (client-id, client-key) pair the reference lists as valid for MSNP6–MSNP10.
pub const CHALLENGE_KEYS: &[(&str, &str)] = &[
    ("msmsgs@msnmsgr.com", "Q1P7W2E4J9R8U3S5"),
    ("PROD0038W!61ZTF9", "VT6PX?UQTM4WM%YR"),
    ("PROD0058#7IL2{QD", "QHDCY@7R1TB6W?5B"),
    ("PROD0061VRRZH@4F", "JXQ6J@TUOGYV@N0M"),
];

/// Lower-case hex MD5 of the concatenation of `parts`.
pub fn md5_hex(parts: &[&[u8]]) -> String {
    let mut hasher = Md5::new();
    for part in parts {
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut out = String::with_capacity(32);
    for b in digest.iter() {
        out.push(char::from(HEX_LOWER[usize::from(b >> 4)]));
        out.push(char::from(HEX_LOWER[usize::from(b & 0x0f)]));
    }
    out
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// The MD5 login answer: `lowercase_hex(MD5(salt ‖ password))`, salt used exactly as received.
pub fn md5_login_hash(salt: &str, password: &str) -> String {
    md5_hex(&[salt.as_bytes(), password.as_bytes()])
}

/// The `QRY` payload for a challenge: `lowercase_hex(MD5(challenge ‖ client-key))`.
pub fn challenge_answer(challenge: &str, client_key: &str) -> String {
    md5_hex(&[challenge.as_bytes(), client_key.as_bytes()])
}

/// The key for a client id, if the id is one the reference lists.
pub fn challenge_key_for(client_id: &str) -> Option<&'static str> {
    CHALLENGE_KEYS
        .iter()
        .find(|(id, _)| *id == client_id)
        .map(|(_, key)| *key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_vectors() {
        assert_eq!(
            md5_login_hash("1013928519.693957190", "mypassword"),
            "6f3963009fc8a9d2b2ff137da0905c55"
        );
        assert_eq!(
            md5_login_hash("1056561624.17795", "abcdefg1234567"),
            "483eee01d6a1de1b668cac9a0ac75d91"
        );
        assert_eq!(
            md5_login_hash("abcdefg", "1234567"),
            "d1713d0f1d2e8fae230328d8fd59de01"
        );
        assert_eq!(
            md5_login_hash("2c51a7eb2dd9f7d", "alicepw"),
            "1633fe79a22c1a01c80aa6c36199f595"
        );
        assert_eq!(
            md5_login_hash("1056561624.17795", "abcdefg123456"),
            "05cb1261c287944157f4598fcc189fe3"
        );
    }

    #[test]
    fn the_bogus_published_digest_is_not_produced() {
        assert_ne!(
            md5_login_hash("1056561624.17795", "abcdefg1234567"),
            "ae931a41daebc7703b84beba4183bc2f"
        );
    }

    #[test]
    fn challenge_vectors() {
        let k = CHALLENGE_CLIENT_KEY;
        assert_eq!(
            challenge_answer("15570131571988941333", k),
            "8f2f5a91b72102cd28355e9fc9000d6e"
        );
        assert_eq!(
            challenge_answer("12345678901234567890", k),
            "8ba1bb9d6dbf624fee31a2053af5fdd0"
        );
        assert_eq!(
            challenge_answer("11111111111111111111", k),
            "3b6666b60157322b6fc6e41a115968f5"
        );
        let prod = challenge_key_for("PROD0038W!61ZTF9").unwrap();
        assert_eq!(
            challenge_answer("15570131571988941333", prod),
            "ca90e6a7c94a14aae7b3ae0f6018433e"
        );
    }
}
