//! `msnp`: the MSN Messenger protocol (MSNP7 and MSNP8) for Mariposa and other programs.
//!
//! * [`proto`] is pure and sans-IO: bytes in, commands, events and deadlines out.
//! * [`client`] drives [`proto`] with real sockets on one background thread.

pub mod client;
pub mod proto;
