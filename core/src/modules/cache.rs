//! Compiled components on disk, so a restart does not compile every module
//! again. A file is named after the component's SHA-256 and the engine's
//! compatibility hash, and starts with an HMAC of its content under the
//! server's secret key: only artifacts this server wrote are ever
//! deserialized (deserializing is executing native code).

use std::hash::{DefaultHasher, Hash as _, Hasher as _};
use std::path::PathBuf;
use std::sync::Arc;

use hmac::{KeyInit as _, Mac as _};
use wasmtime::Engine;
use wasmtime::component::Component;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;
const TAG_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("invalid configuration: `module_cache_dir` ({}) cannot be created: {source}", dir.display())]
    Create {
        dir: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Clone)]
pub struct ArtifactCache {
    dir: PathBuf,
    key: Arc<[u8]>,
    engine: Option<(Engine, String)>,
}

impl std::fmt::Debug for ArtifactCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ArtifactCache")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ArtifactCache {
    pub fn new(dir: PathBuf, key: Arc<[u8]>) -> Result<Self, CacheError> {
        std::fs::create_dir_all(&dir).map_err(|source| CacheError::Create {
            dir: dir.clone(),
            source,
        })?;
        Ok(Self {
            dir,
            key,
            engine: None,
        })
    }

    /// The cache bound to an engine, whose compatibility hash becomes part
    /// of every file name.
    pub fn for_engine(&self, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            engine: Some((engine.clone(), format!("{:016x}", hasher.finish()))),
            ..self.clone()
        }
    }

    fn tag(&self, engine_hash: &str, sha256: &str, artifact: &[u8]) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(engine_hash.as_bytes());
        mac.update(sha256.as_bytes());
        mac.update(artifact);
        Some(mac)
    }

    /// The compiled component, from the cache when a valid artifact is
    /// there, compiled (and cached) otherwise.
    pub async fn load_or_compile(&self, sha256: &str, bytes: &[u8]) -> Result<Component, String> {
        let Some((engine, engine_hash)) = self.engine.clone() else {
            return Err("the artifact cache is not bound to an engine".to_owned());
        };
        let path = self.dir.join(format!("{sha256}-{engine_hash}.cwasm"));
        if let Ok(file) = tokio::fs::read(&path).await
            && let Some(component) = self.deserialize(&engine, &engine_hash, sha256, &file)
        {
            return Ok(component);
        }
        let bytes = bytes.to_vec();
        let compiling = engine.clone();
        let component = tokio::task::spawn_blocking(move || Component::new(&compiling, bytes))
            .await
            .map_err(|error| format!("compilation stopped: {error}"))?
            .map_err(|error| format!("not a valid WebAssembly component: {error:#}"))?;
        match component.serialize() {
            Ok(artifact) => self.store(&path, &engine_hash, sha256, &artifact).await,
            Err(error) => tracing::warn!("cannot serialize a compiled module: {error:#}"),
        }
        Ok(component)
    }

    fn deserialize(
        &self,
        engine: &Engine,
        engine_hash: &str,
        sha256: &str,
        file: &[u8],
    ) -> Option<Component> {
        let (tag, artifact) = file.split_at_checked(TAG_BYTES)?;
        let mac = self.tag(engine_hash, sha256, artifact)?;
        if mac.verify_slice(tag).is_err() {
            tracing::warn!(
                sha256,
                "ignoring a cached module artifact this server did not write"
            );
            return None;
        }
        // SAFETY: `Component::deserialize` runs native code from `artifact`,
        // which must come from `Component::serialize` of a compatible engine.
        // It does: the HMAC above, keyed by this server's secret key, proves
        // this server wrote these exact bytes, and the file name carries the
        // engine's compatibility hash.
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, artifact) };
        match component {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(sha256, "cannot load a cached module artifact: {error:#}");
                None
            }
        }
    }

    async fn store(
        &self,
        path: &std::path::Path,
        engine_hash: &str,
        sha256: &str,
        artifact: &[u8],
    ) {
        let Some(mac) = self.tag(engine_hash, sha256, artifact) else {
            return;
        };
        let mut file = mac.finalize().into_bytes().to_vec();
        file.extend_from_slice(artifact);
        // Written aside then renamed: a reader never sees half a file.
        let partial = path.with_extension(format!("{}.partial", uuid::Uuid::new_v4()));
        let written = match tokio::fs::write(&partial, &file).await {
            Ok(()) => tokio::fs::rename(&partial, path).await,
            Err(error) => Err(error),
        };
        if let Err(error) = written {
            let _ = tokio::fs::remove_file(&partial).await;
            tracing::warn!(path = %path.display(), "cannot cache a compiled module: {error}");
        }
    }
}
