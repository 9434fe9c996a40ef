//! The server's TLS identity for the Passport endpoints: a certificate authority generated at
//! start (its PEM is what clients add as an extra trusted CA) and a server certificate signed by
//! it for the loopback names and the public host.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::Error;

/// A generated CA and the TLS configuration of the HTTPS listener.
pub(crate) struct TlsIdentity {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The rustls server configuration (TLS 1.2 and 1.3).
    pub server: Arc<rustls::ServerConfig>,
}

fn tls_error(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("cannot create the TLS certificate: {e}"))
}

/// Generates a CA and a server certificate valid for `names` (host names or IP addresses).
pub(crate) fn generate(names: &[String]) -> Result<TlsIdentity, Error> {
    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "msnp-server Passport CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(tls_error)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(tls_error)?;
    let mut leaf_params = CertificateParams::new(names.to_vec()).map_err(tls_error)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "msnp-server Passport");
    leaf_params.is_ca = IsCa::NoCa;
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(tls_error)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
        .map_err(tls_error)?;
    Ok(TlsIdentity {
        ca_pem: ca_cert.pem(),
        server: Arc::new(server),
    })
}
