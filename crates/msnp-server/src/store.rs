//! Per-account contact data (lists, groups, settings, version) and its atomic JSON persistence.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

use msnp::proto::command::{AddPrompt, Privacy};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The list version of a new account.
pub const FIRST_VERSION: u32 = 1;

/// Name of group 0 on the wire.
pub const DEFAULT_GROUP_NAME: &str = "Other%20Contacts";

/// One forward-list entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlEntry {
    /// The stored nickname (wire form).
    pub nick: String,
    /// Group ids; never empty (group 0 when in no other group).
    pub groups: BTreeSet<u32>,
}

/// Everything stored for one account besides its password. Addresses are lower case; names are
/// kept in their wire (URL-encoded) form so they go back out byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountData {
    /// Display name (wire form).
    pub display_name: String,
    /// The list version: bumped by every change of this account's contact data. It starts at
    /// [`FIRST_VERSION`], so a client with nothing cached (`SYN tr 0`) always gets the full data.
    pub version: u32,
    /// `GTC` setting.
    pub gtc: AddPrompt,
    /// `BLP` setting.
    pub blp: Privacy,
    /// Own properties (`PHH`, `PHW`, `PHM`, `MOB`, `MBE`, `WWE`), wire values.
    pub properties: BTreeMap<String, String>,
    /// Groups: id → name (wire form). Group 0 always exists.
    pub groups: BTreeMap<u32, String>,
    /// Forward list.
    pub fl: BTreeMap<String, FlEntry>,
    /// Allow list: address → stored name.
    pub al: BTreeMap<String, String>,
    /// Block list: address → stored name.
    pub bl: BTreeMap<String, String>,
    /// Reverse list: address → stored name.
    pub rl: BTreeMap<String, String>,
}

impl AccountData {
    /// Fresh data for a new account.
    pub fn new(display_name: &str) -> Self {
        let mut groups = BTreeMap::new();
        groups.insert(0, DEFAULT_GROUP_NAME.to_string());
        AccountData {
            display_name: display_name.to_string(),
            version: FIRST_VERSION,
            gtc: AddPrompt::Ask,
            blp: Privacy::AllowAll,
            properties: BTreeMap::new(),
            groups,
            fl: BTreeMap::new(),
            al: BTreeMap::new(),
            bl: BTreeMap::new(),
            rl: BTreeMap::new(),
        }
    }

    /// A property value, `None` when empty.
    pub fn property(&self, code: &str) -> Option<&str> {
        self.properties
            .get(code)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Repairs invariants after loading (group 0 present, FL entries grouped).
    pub fn normalise(&mut self) {
        self.version = self.version.max(FIRST_VERSION);
        self.groups
            .entry(0)
            .or_insert_with(|| DEFAULT_GROUP_NAME.to_string());
        let known: BTreeSet<u32> = self.groups.keys().copied().collect();
        for entry in self.fl.values_mut() {
            entry.groups.retain(|g| known.contains(g));
            if entry.groups.is_empty() {
                entry.groups.insert(0);
            }
        }
    }
}

/// The persisted file: account address → data.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StateFile {
    /// Format version of the file.
    pub format: u32,
    /// Per-account data.
    pub accounts: BTreeMap<String, AccountData>,
}

/// Reads the state file; `Ok(None)` when it does not exist. A file that cannot be parsed is an
/// error (it is never silently replaced).
pub fn load_state(path: &Path) -> Result<Option<StateFile>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::State(format!("cannot read {}: {e}", path.display()))),
    };
    let mut state: StateFile = serde_json::from_str(&text).map_err(|e| {
        Error::State(format!(
            "{} is corrupt ({e}); move it aside to start afresh",
            path.display()
        ))
    })?;
    for data in state.accounts.values_mut() {
        data.normalise();
    }
    Ok(Some(state))
}

/// Writes the state atomically: a temporary file beside the target, fsync, rename, fsync the
/// directory.
pub fn save_state(path: &Path, state: &StateFile) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::State(format!("cannot write {}: {e}", path.display()));
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| Error::State(e.to_string()))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state.json".to_string());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Best effort: not every platform can fsync a directory.
        let _ = d.sync_all();
    }
    Ok(())
}
