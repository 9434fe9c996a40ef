//! MSNFTP file transfer (msnftp.md): the invitation fields, the line commands and data blocks of the
//! direct connection, the sender and receiver state machines, and file-name hygiene. Pure and sans-IO.

pub mod block;
pub mod command;
pub mod filename;
pub mod invite;
pub mod session;

pub use block::{Block, BlockDecoder, BlockError, BlockHeader, MAX_BLOCK_DATA};
pub use command::{ByeCode, CommandError, FtpCommand, LineReader};
pub use filename::{
    decode_file_name, is_executable_name, sanitize_file_name, sanitize_file_name_bytes,
    unique_path_candidate,
};
pub use invite::{
    port_x, Accept, CancelCode, Connection, FileInvite, Invite, InviteError, DEFAULT_MAX_FILE_SIZE,
};
pub use session::{FtpError, FtpEvent, Receiver, Sender, TimeoutKind};
