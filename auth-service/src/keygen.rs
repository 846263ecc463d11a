//! `auth-service keygen`: a fresh 2048-bit RSA pair as PEM files (spec 4.1: PKCS#1 `RSA PRIVATE KEY`,
//! PKIX `PUBLIC KEY`). Keys are never committed; each deployment generates its own.

use std::path::Path;

use anyhow::Context;
use rsa::{
    RsaPrivateKey,
    pkcs1::{EncodeRsaPrivateKey, LineEnding},
    pkcs8::EncodePublicKey,
};

/// Key size of generated pairs.
pub const KEY_BITS: usize = 2048;

/// A new RSA pair of `bits` bits: `(private PKCS#1 PEM, public PKIX PEM)`.
pub fn generate_pem_pair(bits: usize) -> anyhow::Result<(String, String)> {
    let private =
        RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).context("generate RSA key")?;
    let private_pem = private
        .to_pkcs1_pem(LineEnding::LF)
        .context("encode private key")?
        .to_string();
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .context("encode public key")?;
    Ok((private_pem, public_pem))
}

/// Fails, naming the file, when any of `paths` exists: replacing a pair in use makes every token
/// it signed fail verification (`auth-service keygen --force` does it anyway).
pub fn refuse_to_replace(paths: &[&Path]) -> anyhow::Result<()> {
    if let Some(existing) = paths.iter().find(|path| path.exists()) {
        anyhow::bail!(
            "{} already exists: a new pair would invalidate every token signed with it; \
             pass --force to replace it",
            existing.display()
        );
    }
    Ok(())
}

/// Writes a fresh pair to `private_path` (mode 0600) and `public_path`, creating their directories.
pub fn write_pair(private_path: &Path, public_path: &Path) -> anyhow::Result<()> {
    let (private_pem, public_pem) = generate_pem_pair(KEY_BITS)?;
    for path in [private_path, public_path] {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
    }
    std::fs::write(private_path, private_pem)
        .with_context(|| format!("write {}", private_path.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(private_path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("restrict {}", private_path.display()))?;
    }
    std::fs::write(public_path, public_pem)
        .with_context(|| format!("write {}", public_path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_keys_are_not_replaced_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("private.pem");
        let public = dir.path().join("public.pem");
        refuse_to_replace(&[&private, &public]).expect("nothing to replace yet");
        std::fs::write(&public, "in use").unwrap();
        let err = refuse_to_replace(&[&private, &public]).unwrap_err();
        assert!(
            err.to_string().contains("public.pem already exists"),
            "{err}"
        );
        assert!(err.to_string().contains("--force"), "{err}");
    }
}
