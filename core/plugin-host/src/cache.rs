//! On-disk cache of compiled components.
//!
//! Compiling a component with Cranelift takes from tens of milliseconds (a small
//! Rust plugin) to seconds (JS/Python plugins); loading the precompiled artefact
//! is a file map. Files are named `{sha256 of the component}-{engine hash}.cwasm`:
//! the content hash makes a stale entry impossible, and the engine hash
//! (wasmtime's precompile-compatibility hash: version, target, and the engine
//! settings that shape code) keeps artefacts from another engine configuration
//! apart.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::error::HostError;

/// Part of the key in case the compatibility hash ever stops covering versions.
const KEY_SALT: &str = "vigil-plugin-cache-v1 wasmtime-48";

#[derive(Debug)]
pub(crate) struct Cache {
    dir: PathBuf,
    engine_key: String,
}

/// Feeds `Hash` output into SHA-256 so the engine key is stable across runs
/// (`DefaultHasher` is randomly seeded per process).
struct ShaHasher(Sha256);

impl Hasher for ShaHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

/// The hex SHA-256 of a component's bytes: its identity in the cache and in
/// `vigil plugin inspect`.
pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A short stable hash of everything that decides whether a compiled artefact
/// fits `engine`.
pub(crate) fn engine_key(engine: &Engine) -> String {
    let mut h = ShaHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut h);
    KEY_SALT.hash(&mut h);
    hex::encode(&h.0.finalize()[..8])
}

impl Cache {
    /// Opens (creating it `0700` if needed) the cache directory.
    pub(crate) fn open(dir: &Path, engine: &Engine) -> Result<Self, HostError> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| HostError::CacheDir {
                path: dir.to_owned(),
                source,
            })?;
        Ok(Cache {
            dir: dir.to_owned(),
            engine_key: engine_key(engine),
        })
    }

    pub(crate) fn path(&self, digest: &str) -> PathBuf {
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Loads a cached artefact. A missing file is a miss; an unreadable,
    /// corrupt or incompatible one is logged, removed, and also a miss (the
    /// caller compiles and overwrites it).
    ///
    /// The file is read into memory rather than mapped with
    /// `Component::deserialize_file`: a mapped file that is truncated in place
    /// later (by anyone) kills the daemon with SIGBUS, which the tests provoked.
    /// Wasmtime copies the code into its own mapping either way.
    #[allow(unsafe_code)]
    pub(crate) fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.path(digest);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read compiled-plugin cache entry: {e}");
                return None;
            }
        };
        // SAFETY: `deserialize` trusts the bytes to be wasmtime's own output:
        // wasmtime checks the header, version and engine settings, but not the
        // machine code itself. The file is trustworthy because only this host
        // writes the cache directory (created 0700 by the daemon's user, i.e.
        // root), names it after the SHA-256 of the component it compiled plus the
        // engine's compatibility hash, and writes it atomically (temporary file +
        // rename), so a reader never sees a partial file. Anything that still
        // fails wasmtime's checks (truncation, another engine's artefact) is
        // rejected here and recompiled.
        match unsafe { Component::deserialize(engine, &bytes) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), "discarding unusable compiled-plugin cache entry: {e}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores a compiled component. Failures only cost a recompile next time,
    /// so they are logged, not returned.
    pub(crate) fn store(&self, digest: &str, component: &Component) {
        let path = self.path(digest);
        if let Err(e) = self.write_atomically(&path, component) {
            tracing::warn!(path = %path.display(), "could not write compiled-plugin cache entry: {e}");
        }
    }

    fn write_atomically(&self, path: &Path, component: &Component) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let bytes = component
            .serialize()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        ));
        let result = (|| {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}
