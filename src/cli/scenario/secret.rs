//! The scenario's secret as a file beside the game: what the teacher keeps until the
//! report reveals it. TOML: `salt` (32 hex digits) and `text`; `qraft report --secret`
//! reads it back (`cli::report::secret::read`).

use std::path::Path;

use anyhow::{Context, Result};
use qraft_node::core::scenario::ScenarioSecret;
use serde::Serialize;

/// Its name in a game's folder. Students' laptops never receive it: only the genesis
/// (which holds its hash) travels.
pub const SECRET_FILE: &str = "scenario-secret.toml";

#[derive(Serialize)]
struct SecretToml {
    salt: String,
    text: String,
}

/// Writes `secret` to `path`, readable by its owner only.
pub fn write(path: &Path, secret: &ScenarioSecret) -> Result<()> {
    let body = toml::to_string(&SecretToml {
        salt: secret.salt.iter().map(|b| format!("{b:02x}")).collect(),
        text: secret.text.clone(),
    })
    .context("cannot write the scenario's secret as TOML")?;
    let text = format!(
        "# The scenario's secret: only its hash is in the genesis. Keep this file to\n\
         # yourself; `qraft report --secret {}` reveals it with the report.\n{body}",
        path.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot make {} private", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_secret_reads_back_and_keeps_its_commitment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(SECRET_FILE);
        let secret = ScenarioSecret {
            salt: [0xab; 16],
            text: "Acme is worth $15.00 \"really\"\nsecond line".into(),
        };
        write(&path, &secret).unwrap();
        let back = crate::cli::report::secret::read(&path).unwrap();
        assert_eq!(back, secret);
        assert!(back.matches(&secret.commitment()));
        std::fs::write(&path, "salt = \"abc\"\ntext = \"x\"\n").unwrap();
        let refused = crate::cli::report::secret::read(&path).unwrap_err();
        assert!(refused.to_string().contains("32 hex digits"), "{refused}");
    }
}
