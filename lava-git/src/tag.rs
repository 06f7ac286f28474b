//! Annotated and OpenPGP-signed tags, written as `git tag -a`/`git tag -s` write them.
//!
//! The tag object is built byte for byte as git builds it (headers, blank line, message,
//! then the armored signature appended), so `git verify-tag` accepts it. The signature
//! itself comes from the caller: this crate knows nothing of OpenPGP.

use std::path::Path;

use crate::{Error, Result, Source};

/// An annotated tag object, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagObject {
    /// The tag object's id.
    pub id: String,
    /// The commit the tag points at.
    pub target: String,
    /// The message, without the signature.
    pub message: String,
    /// The bytes a signature covers: the whole object up to the signature.
    pub payload: Vec<u8>,
    /// The armored signature, when the tag is signed.
    pub signature: Option<Vec<u8>>,
}

/// What a tag name refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagRef {
    /// A lightweight tag: the ref points straight at a commit.
    Lightweight {
        /// The commit.
        commit: String,
    },
    /// An annotated (perhaps signed) tag object.
    Annotated(TagObject),
}

impl TagRef {
    /// The commit the tag ends at.
    pub fn commit(&self) -> &str {
        match self {
            TagRef::Lightweight { commit } => commit,
            TagRef::Annotated(tag) => &tag.target,
        }
    }
}

/// A tag to create.
#[derive(Debug, Clone)]
pub struct NewTag<'a> {
    /// The tag's name, e.g. `2024.05`.
    pub name: &'a str,
    /// The commit it points at (full id).
    pub commit: &'a str,
    /// The message.
    pub message: &'a str,
    /// The id of an existing tag object this one may replace (an unsigned local tag on
    /// the same commit); `None`: the tag must not exist.
    pub replaces: Option<&'a str>,
    /// The tagger and time; `None` for the repository's identity, now.
    pub tagger: Option<(&'a str, &'a str, i64, i32)>,
}

/// Signs a tag payload, returning an ASCII-armored detached signature.
pub type SignFn<'a> = &'a dyn Fn(&[u8]) -> std::result::Result<String, Source>;

/// Splits a raw tag object into (payload, signature) at its last armored signature block,
/// as git's `parse_signature` does.
pub fn split_signature(raw: &[u8]) -> (&[u8], Option<&[u8]>) {
    const BEGINS: [&[u8]; 2] = [
        b"-----BEGIN PGP SIGNATURE-----",
        b"-----BEGIN PGP MESSAGE-----",
    ];
    let mut start = None;
    let mut offset = 0;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if BEGINS.iter().any(|b| line.starts_with(b)) {
            start = Some(offset);
        }
        offset += line.len();
    }
    match start {
        Some(i) => (&raw[..i], Some(&raw[i..])),
        None => (raw, None),
    }
}

pub(crate) fn read_tag(git_dir: &Path, workdir: &Path, name: &str) -> Result<Option<TagRef>> {
    let err = |source: git2::Error| Error::Tag {
        name: name.to_owned(),
        repo: workdir.to_owned(),
        source: source.into(),
    };
    let repo = git2::Repository::open(git_dir).map_err(err)?;
    let reference = match repo.find_reference(&format!("refs/tags/{name}")) {
        Ok(r) => r,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(err(e)),
    };
    let target = reference
        .target()
        .ok_or_else(|| err(git2::Error::from_str("the tag is a symbolic reference")))?;
    let object = repo.find_object(target, None).map_err(err)?;
    match object.kind() {
        Some(git2::ObjectType::Tag) => {
            let odb = repo.odb().map_err(err)?;
            let raw = odb.read(target).map_err(err)?;
            let (payload, signature) = split_signature(raw.data());
            let commit = object.peel_to_commit().map_err(err)?.id().to_string();
            let text = String::from_utf8_lossy(payload);
            let message = text
                .split_once("\n\n")
                .map(|(_, m)| m.to_owned())
                .unwrap_or_default();
            Ok(Some(TagRef::Annotated(TagObject {
                id: target.to_string(),
                target: commit,
                message,
                payload: payload.to_vec(),
                signature: signature.map(<[u8]>::to_vec),
            })))
        }
        _ => {
            let commit = object.peel_to_commit().map_err(err)?.id().to_string();
            Ok(Some(TagRef::Lightweight { commit }))
        }
    }
}

/// The tag object's bytes before any signature, as `git tag -a` writes them.
fn payload(tag: &NewTag<'_>, name: &str, email: &str, seconds: i64, offset: i32) -> Vec<u8> {
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.abs();
    let mut message = tag.message.trim_end().to_owned();
    message.push('\n');
    format!(
        "object {}\ntype commit\ntag {}\ntagger {name} <{email}> {seconds} {sign}{:02}{:02}\n\n{message}",
        tag.commit,
        tag.name,
        offset / 60,
        offset % 60
    )
    .into_bytes()
}

pub(crate) fn create_tag(
    git_dir: &Path,
    workdir: &Path,
    tag: &NewTag<'_>,
    sign: Option<SignFn<'_>>,
) -> Result<String> {
    let err = |source: git2::Error| Error::Tag {
        name: tag.name.to_owned(),
        repo: workdir.to_owned(),
        source: source.into(),
    };
    let repo = git2::Repository::open(git_dir).map_err(err)?;
    let commit = git2::Oid::from_str(tag.commit).map_err(err)?;
    repo.find_commit(commit).map_err(err)?;
    let refname = format!("refs/tags/{}", tag.name);
    if !git2::Reference::is_valid_name(&refname) {
        return Err(err(git2::Error::from_str("not a valid tag name")));
    }

    let (name, email, seconds, offset) = match tag.tagger {
        Some(t) => (t.0.to_owned(), t.1.to_owned(), t.2, t.3),
        None => {
            let me = repo.signature().map_err(|_| Error::MissingIdentity {
                key: "user.name and user.email",
                repo: workdir.to_owned(),
            })?;
            let when = me.when();
            (
                me.name().unwrap_or_default().to_owned(),
                me.email().unwrap_or_default().to_owned(),
                when.seconds(),
                when.offset_minutes(),
            )
        }
    };
    let mut bytes = payload(tag, &name, &email, seconds, offset);
    if let Some(sign) = sign {
        let signature = sign(&bytes).map_err(|source| Error::SignTag {
            name: tag.name.to_owned(),
            source,
        })?;
        bytes.extend_from_slice(signature.as_bytes());
        if !signature.ends_with('\n') {
            bytes.push(b'\n');
        }
    }
    // The object first: harmless if we stop here. Then the ref, created only if absent
    // (or compare-and-swapped over the one tag object it may replace), so there is never
    // a ref to a half-made tag, and an existing tag is never silently overwritten.
    let id = repo
        .odb()
        .and_then(|odb| odb.write(git2::ObjectType::Tag, &bytes))
        .map_err(err)?;
    let log = format!("lava-release: tag {}", tag.name);
    let created = match tag.replaces {
        None => repo.reference(&refname, id, false, &log),
        Some(old) => {
            let old = git2::Oid::from_str(old).map_err(err)?;
            repo.reference_matching(&refname, id, true, old, &log)
        }
    };
    match created {
        Ok(_) => Ok(id.to_string()),
        Err(e)
            if matches!(
                e.code(),
                git2::ErrorCode::Exists | git2::ErrorCode::Modified
            ) =>
        {
            let existing = read_tag(git_dir, workdir, tag.name)?
                .map(|t| t.commit().to_owned())
                .unwrap_or_default();
            Err(Error::TagExists {
                name: tag.name.to_owned(),
                commit: existing,
                repo: workdir.to_owned(),
            })
        }
        Err(e) => Err(err(e)),
    }
}

/// Tag `name` as the repository at `url` publishes it, read by anyone with no checkout:
/// a shallow fetch of the tag alone into a new bare repository at `scratch` (which must
/// not exist; the caller removes it). `None` when `url` has no such tag.
pub fn read_remote_tag(
    url: &str,
    name: &str,
    scratch: &Path,
    net: &crate::Network,
) -> Result<Option<TagRef>> {
    git2::Repository::init_bare(scratch).map_err(|source| Error::Clone {
        url: url.to_owned(),
        dest: scratch.to_owned(),
        source: source.into(),
    })?;
    let wanted = format!("refs/tags/{name}");
    let refs = crate::remote::remote_refs(scratch, url, net)?;
    if !refs.iter().any(|(n, _)| *n == wanted) {
        return Ok(None);
    }
    let refspec = format!("{wanted}:{wanted}");
    crate::remote::fetch(scratch, url, &[refspec.as_str()], Some(1), net)?;
    read_tag(scratch, scratch, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_is_what_git_tag_writes() {
        let tag = NewTag {
            name: "2024.05",
            commit: "0123456789abcdef0123456789abcdef01234567",
            message: "LAVA Software 2024.05 release\n\n",
            replaces: None,
            tagger: None,
        };
        let bytes = payload(&tag, "Rémi", "rm@example.org", 1_714_557_600, 120);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "object 0123456789abcdef0123456789abcdef01234567\ntype commit\ntag 2024.05\ntagger Rémi <rm@example.org> 1714557600 +0200\n\nLAVA Software 2024.05 release\n"
        );
    }

    #[test]
    fn signature_is_split_at_the_last_armor() {
        let raw =
            b"object x\n\nmsg\n-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
        let (payload, sig) = split_signature(raw);
        assert_eq!(payload, b"object x\n\nmsg\n");
        assert!(sig.unwrap().starts_with(b"-----BEGIN PGP SIGNATURE-----"));
        assert_eq!(
            split_signature(b"object x\n\nmsg\n"),
            (&b"object x\n\nmsg\n"[..], None)
        );
    }
}
