//! The pure protocol core: framing, typed commands, authentication, names, payloads and the
//! state machines. Nothing in here touches a socket, a thread or a clock.

pub mod auth;
pub mod codec;
pub mod command;
pub mod contacts;
pub mod error;
pub mod ftp;
pub mod msnp8;
pub mod names;
pub mod ns;
pub mod passport;
pub mod payload;
pub mod sb;
