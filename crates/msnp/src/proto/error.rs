//! Numeric server errors (errors.md): every documented code as a typed value with a human message.

use std::fmt;

macro_rules! server_errors {
    ($( $variant:ident = $code:literal, $closes:literal, $msg:literal; )*) => {
        /// A numeric error sent by a server (`217 5`), typed by its code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ServerError {
            $(
                #[doc = $msg]
                $variant,
            )*
            /// A code the reference does not document: "the request failed".
            Unknown(u16),
        }

        impl ServerError {
            /// The error for a numeric code.
            pub fn from_code(code: u16) -> Self {
                match code {
                    $( $code => ServerError::$variant, )*
                    other => ServerError::Unknown(other),
                }
            }

            /// The numeric code.
            pub fn code(self) -> u16 {
                match self {
                    $( ServerError::$variant => $code, )*
                    ServerError::Unknown(code) => code,
                }
            }

            /// A sentence for the user (the reference's meaning; callers may say more in context).
            pub fn message(self) -> String {
                match self {
                    $( ServerError::$variant => $msg.to_string(), )*
                    ServerError::Unknown(code) => format!("Server error {code}"),
                }
            }

            /// Whether the reference says the server closes the connection after this error.
            pub fn closes_connection(self) -> bool {
                match self {
                    $( ServerError::$variant => $closes, )*
                    ServerError::Unknown(_) => false,
                }
            }
        }

        /// Every documented code, for tests and tables.
        pub const DOCUMENTED_CODES: &[u16] = &[ $( $code, )* ];
    };
}

server_errors! {
    SyntaxError = 200, false, "The server did not understand the command (syntax error).";
    InvalidParameter = 201, false, "Invalid parameter (for example an invalid e-mail address).";
    InvalidNetworkId = 204, true, "Invalid network id.";
    InvalidPrincipal = 205, false, "That account does not exist on MSN.";
    DomainNameMissing = 206, true, "Enter a full e-mail address, including the domain.";
    AlreadyLoggedIn = 207, false, "Already signed in on this connection.";
    InvalidPrincipalName = 208, false, "That is not a valid account name.";
    DisplayNameNotAllowed = 209, false, "That display name is not allowed.";
    ListFull = 210, false, "The contact list is full.";
    InvalidRename = 213, false, "The rename request is invalid.";
    AlreadyThere = 215, false, "Already on that list, or already in the conversation.";
    NotOnList = 216, false, "That contact is not on the list.";
    NotOnline = 217, false, "The contact is offline or not accepting conversations.";
    AlreadyInMode = 218, false, "That setting is already in effect.";
    OnOppositeList = 219, false, "The contact is on the opposite list (allow/block).";
    TooManyGroups = 223, false, "You cannot create more groups.";
    InvalidGroup = 224, false, "That group does not exist.";
    NotInGroup = 225, false, "The contact is not in that group.";
    GroupNotEmpty = 227, false, "The group is not empty.";
    GroupNameExists = 228, false, "A group with that name already exists.";
    GroupNameTooLong = 229, false, "The group name is too long.";
    CannotRemoveGroupZero = 230, false, "The default group cannot be removed.";
    InvalidGroupId = 231, false, "Invalid group.";
    EmptyDomain = 240, true, "Empty domain.";
    InvalidXml = 241, true, "Invalid XML payload.";
    SwitchboardFailed = 280, false, "The conversation server failed; try again.";
    TransferToSwitchboardFailed = 281, false, "Could not open a conversation; try again later.";
    P2pError = 282, false, "Peer-to-peer error.";
    RequiredFieldMissing = 300, false, "A required field is missing.";
    TooManyResults = 301, false, "Too many results.";
    NotLoggedIn = 302, false, "Not signed in.";
    ContactListError402 = 402, false, "Error accessing the contact list; try again later.";
    ContactListError403 = 403, false, "Error accessing the contact list.";
    InvalidAccountPermissions = 420, false, "Invalid account permissions.";
    InternalServerError = 500, true, "The service is temporarily unavailable.";
    DatabaseServerError = 501, false, "The server's database failed; try again later.";
    CommandDisabled = 502, false, "That command is disabled on this server.";
    ServerError503 = 503, false, "Server error.";
    FileOperationFailed = 510, false, "A server file operation failed; try again later.";
    AccountBanned = 511, true, "This account cannot sign in.";
    MemoryAllocationFailed = 520, false, "The server ran out of memory; try again later.";
    ChallengeFailed = 540, true, "The challenge response was rejected.";
    ServerBusy = 600, true, "The server is busy; try again later.";
    ServerUnavailable = 601, true, "The server is unavailable; try again later.";
    PeerNsDown = 602, false, "A peer notification server is down; try again later.";
    DatabaseConnectionFailed = 603, false, "The server's database is unreachable; try again later.";
    ServerGoingDown = 604, true, "The server is going down.";
    ServerUnavailable605 = 605, true, "The server is unavailable; try again later.";
    CouldNotCreateConnection = 707, false, "The server could not create a connection; try again later.";
    BadCvrParameters = 710, false, "The server rejected the client version report.";
    WriteBlocking = 711, false, "The server is blocked on writing; try again later.";
    SessionOverloaded = 712, false, "The session is overloaded; try again later.";
    CallingTooRapidly = 713, false, "Too many requests in a short time; wait a moment.";
    TooManySessions = 714, false, "Too many conversations are open.";
    NotExpected = 715, false, "The server did not expect that command.";
    BadFriendFile = 717, false, "The server has a problem with the contact list; try again later.";
    NotExpected731 = 731, false, "Not expected.";
    ChangingTooRapidly = 800, false, "Changing too often; wait a minute and try again.";
    ServerTooBusy910 = 910, true, "The server is too busy; try again later.";
    AuthenticationFailed = 911, true, "Wrong e-mail address or password.";
    ServerTooBusy912 = 912, true, "The server is too busy; try again later.";
    NotAllowedWhenOffline = 913, false, "Not allowed while you appear offline.";
    ServerUnavailable914 = 914, true, "The server is unavailable; try again later.";
    ServerUnavailable915 = 915, true, "The server is unavailable; try again later.";
    ServerUnavailable916 = 916, true, "The server is unavailable; try again later.";
    PassportAuthFailed = 917, true, "Authentication failed.";
    ServerTooBusy918 = 918, true, "The server is too busy; try again later.";
    ServerTooBusy919 = 919, true, "The server is too busy; try again later.";
    NotAcceptingNewUsers = 920, true, "The service is not accepting sign-ins.";
    ServerTooBusy921 = 921, true, "The server is too busy; try again later.";
    ServerTooBusy922 = 922, true, "The server is too busy; try again later.";
    KidsPassportWithoutConsent = 923, true, "This child's account needs parental consent.";
    PassportNotVerified = 924, true, "Verify your e-mail address first.";
    BadTicket = 928, true, "The sign-in ticket was rejected.";
    AccountNotOnThisServer = 931, true, "The account is not on this server.";
    InvalidCircleMembership = 933, false, "Invalid circle membership.";
}

impl ServerError {
    /// Whether a sign-in that failed with this error is worth retrying later with backoff.
    pub fn is_transient(self) -> bool {
        matches!(
            self.code(),
            500 | 501 | 600 | 601 | 602 | 603 | 604 | 605 | 910 | 912 | 914
                ..=916 | 918 | 919 | 921 | 922
        )
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.code())
    }
}

impl std::error::Error for ServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_have_messages() {
        for &code in DOCUMENTED_CODES {
            let e = ServerError::from_code(code);
            assert_eq!(e.code(), code);
            assert!(!matches!(e, ServerError::Unknown(_)));
            assert!(!e.message().is_empty());
        }
        assert_eq!(ServerError::from_code(999), ServerError::Unknown(999));
        assert_eq!(ServerError::Unknown(999).message(), "Server error 999");
        assert!(ServerError::AuthenticationFailed.closes_connection());
        assert!(!ServerError::NotOnline.closes_connection());
        assert_eq!(
            ServerError::from_code(911).to_string(),
            "Wrong e-mail address or password. (911)"
        );
    }
}
