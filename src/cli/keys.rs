//! Key files of the client: `{"seed", "public_key", "pid"}` (base64 Ed25519 seed), created with
//! mode 0600 and never overwritten. The seed never leaves the machine: the hub only ever sees the
//! public key and signatures.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use geo_protocol::Keypair;
use serde::{Deserialize, Serialize};

/// The JSON content of a key file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    /// Base64 of the 32-byte Ed25519 secret seed.
    pub seed: String,
    /// Base64 of the public key.
    pub public_key: String,
    /// The participant id derived from the public key.
    pub pid: String,
}

impl KeyFile {
    /// The key file of a key pair.
    pub fn of(key: &Keypair) -> KeyFile {
        KeyFile {
            seed: B64.encode(key.seed()),
            public_key: key.public().to_base64(),
            pid: key.pid().as_str().to_owned(),
        }
    }

    /// The key pair; checks that the public key and PID match the seed.
    pub fn keypair(&self) -> anyhow::Result<Keypair> {
        let raw = B64.decode(self.seed.trim()).context("seed is not base64")?;
        let seed: [u8; 32] = raw
            .try_into()
            .map_err(|_| anyhow::anyhow!("seed is not 32 bytes"))?;
        let key = Keypair::from_seed(&seed);
        if key.public().to_base64() != self.public_key || key.pid().as_str() != self.pid {
            anyhow::bail!("public_key or pid does not match the seed");
        }
        Ok(key)
    }
}

/// The default key file: `$HOME/.geo/key.json`, or `./geo-key.json` when `HOME` is not set.
pub fn default_key_path() -> PathBuf {
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => PathBuf::from(home).join(".geo").join("key.json"),
        None => PathBuf::from("geo-key.json"),
    }
}

/// Writes `contents` to a new file readable by its owner only (mode 0600 on Unix); refuses to
/// replace an existing file.
pub fn write_private_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} already exists; refusing to overwrite it", path.display())
        } else {
            anyhow::anyhow!("creating {}: {e}", path.display())
        }
    })?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// Creates the parent directory of `path` (mode 0700 on Unix) if missing.
pub fn ensure_parent(path: &Path) -> anyhow::Result<()> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Generates a fresh key and stores it in a new file at `path` (mode 0600); refuses to overwrite.
pub fn generate(path: &Path) -> anyhow::Result<(Keypair, KeyFile)> {
    if path.exists() {
        anyhow::bail!("{} already exists; refusing to overwrite it", path.display());
    }
    ensure_parent(path)?;
    let key = Keypair::generate();
    let file = KeyFile::of(&key);
    let mut text = serde_json::to_vec_pretty(&file)?;
    text.push(b'\n');
    write_private_new(path, &text)?;
    Ok((key, file))
}

/// Loads the key pair of a key file.
pub fn load(path: &Path) -> anyhow::Result<Keypair> {
    let text = std::fs::read(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "no key file at {} (create one with `geo keygen`, or pass --key / GEO_KEY)",
                path.display()
            )
        } else {
            anyhow::anyhow!("reading {}: {e}", path.display())
        }
    })?;
    let file: KeyFile =
        serde_json::from_slice(&text).with_context(|| format!("{} is not a key file", path.display()))?;
    file.keypair()
        .with_context(|| format!("key file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("key.json");
        let (key, file) = generate(&path).unwrap();
        assert_eq!(file.pid, key.pid().as_str());
        assert_eq!(load(&path).unwrap().pid(), key.pid());
        assert!(generate(&path).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut bad = file.clone();
        bad.pid = "x".into();
        assert!(bad.keypair().is_err());
    }
}
