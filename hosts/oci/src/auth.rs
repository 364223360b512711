//! Registry credentials: anonymous unless the operator gave some, from (first found)
//!
//! 1. `E911_REGISTRY_USERNAME` and `E911_REGISTRY_PASSWORD` in the environment;
//! 2. a Docker config file — `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` —
//!    whose `auths` entry for the registry holds `auth` (base64 of `user:password`, as
//!    `docker login` writes it) or `username` and `password`.
//!
//! Credentials go out as HTTP Basic (the registry answers a `Basic` challenge, as
//! distribution's htpasswd does) or are traded for a bearer token when the registry
//! answers a `Bearer` challenge; oci-client does either.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde::Deserialize;

/// The user name variable.
pub const USERNAME_VAR: &str = "E911_REGISTRY_USERNAME";
/// The password variable.
pub const PASSWORD_VAR: &str = "E911_REGISTRY_PASSWORD";

/// The credentials for `registry` (`host[:port]`), with where they came from.
pub fn for_registry(registry: &str) -> Result<(RegistryAuth, String)> {
    let user = std::env::var(USERNAME_VAR).ok().filter(|v| !v.is_empty());
    let password = std::env::var(PASSWORD_VAR).ok();
    match (user, password) {
        (Some(user), Some(password)) => {
            return Ok((
                RegistryAuth::Basic(user, password),
                format!("{USERNAME_VAR}/{PASSWORD_VAR}"),
            ));
        }
        (Some(_), None) => bail!("{USERNAME_VAR} is set but {PASSWORD_VAR} is not"),
        _ => {}
    }
    if let Some(path) = docker_config_path()
        && path.is_file()
        && let Some(auth) = from_docker_config(&path, registry)?
    {
        return Ok((auth, path.display().to_string()));
    }
    Ok((RegistryAuth::Anonymous, "anonymous".to_owned()))
}

fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: std::collections::BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize)]
struct DockerAuth {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// The entry for `registry` in a Docker config file; keys may carry a scheme and a path
/// (`https://host:port/v1/`), as older `docker login` wrote them.
fn from_docker_config(path: &Path, registry: &str) -> Result<Option<RegistryAuth>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let config: DockerConfig = serde_json::from_str(&text)
        .map_err(|err| anyhow::anyhow!("{}:{}: {err}", path.display(), err.line()))?;
    let host_of = |key: &str| {
        let key = key
            .strip_prefix("https://")
            .or_else(|| key.strip_prefix("http://"))
            .unwrap_or(key);
        key.split('/').next().unwrap_or(key).to_owned()
    };
    let Some(entry) = config
        .auths
        .iter()
        .find(|(key, _)| host_of(key) == registry)
        .map(|(_, entry)| entry)
    else {
        return Ok(None);
    };
    if let Some(encoded) = &entry.auth {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            bail!(
                "{}: auths.{registry}.auth is not base64 of user:password",
                path.display()
            );
        };
        return Ok(Some(RegistryAuth::Basic(
            user.to_owned(),
            password.to_owned(),
        )));
    }
    match (&entry.username, &entry.password) {
        (Some(user), Some(password)) => {
            Ok(Some(RegistryAuth::Basic(user.clone(), password.clone())))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_docker_login_entries_with_or_without_scheme() {
        let dir = std::env::temp_dir().join(format!("e911-oci-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("ops:s3cret:x");
        std::fs::write(
            &path,
            format!(
                r#"{{"auths": {{"https://reg.example:5000/v1/": {{"auth": "{auth}"}},
                   "other.example": {{"username": "u", "password": "p"}}}}}}"#
            ),
        )
        .unwrap();
        match from_docker_config(&path, "reg.example:5000").unwrap() {
            Some(RegistryAuth::Basic(user, password)) => {
                assert_eq!((user.as_str(), password.as_str()), ("ops", "s3cret:x"));
            }
            _ => panic!("basic credentials expected"),
        }
        assert!(matches!(
            from_docker_config(&path, "other.example").unwrap(),
            Some(RegistryAuth::Basic(..))
        ));
        assert!(from_docker_config(&path, "none.example").unwrap().is_none());
        std::fs::write(&path, "{\n\"auths\": [").unwrap();
        let err = from_docker_config(&path, "x").unwrap_err().to_string();
        assert!(err.contains("config.json:2"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
