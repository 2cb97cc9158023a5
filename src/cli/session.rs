//! The session file: the access and refresh tokens of the last login, stored next to the key file
//! (`key.json` -> `key.session.json`) with mode 0600.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// Tokens of one login at one hub.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// Base URL of the hub that issued the tokens.
    pub hub: String,
    /// The participant logged in.
    pub pid: String,
    /// Bearer token of API calls.
    pub access_token: String,
    /// Token to get a new pair with `POST /auth/refresh`.
    pub refresh_token: String,
    /// Unix time (seconds) at which the access token expires, as announced by the hub.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

impl Session {
    /// Whether the session belongs to this hub and participant.
    pub fn is_for(&self, hub: &str, pid: &str) -> bool {
        self.hub == hub && self.pid == pid
    }
}

/// The session file of a key file: same directory, `<stem>.session.json`.
pub fn session_path(key_path: &Path) -> PathBuf {
    let stem = key_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "key".to_owned());
    key_path.with_file_name(format!("{stem}.session.json"))
}

/// Reads a session file; `None` when there is none or it cannot be read as a session.
pub fn load(path: &Path) -> Option<Session> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Writes the session file (owner-only, replaced atomically).
pub fn save(path: &Path, session: &Session) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    let mut text = serde_json::to_vec_pretty(session)?;
    text.push(b'\n');
    file.write_all(&text)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_round_trip() {
        assert_eq!(
            session_path(Path::new("/a/b/key.json")),
            PathBuf::from("/a/b/key.session.json")
        );
        assert_eq!(session_path(Path::new("k")), PathBuf::from("k.session.json"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.session.json");
        assert!(load(&path).is_none());
        let s = Session {
            hub: "http://h:1".into(),
            pid: "p".into(),
            access_token: "a".into(),
            refresh_token: "r".into(),
            expires_at: Some(5),
        };
        save(&path, &s).unwrap();
        save(&path, &s).unwrap();
        let back = load(&path).unwrap();
        assert!(back.is_for("http://h:1", "p"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
