//! Hexadecimal digests and a file's SHA256, shared by fetching, building the `.changes`
//! and uploading.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::{Error, Result};

/// SHA256 and size of a local file.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let io = |source| Error::File {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let mut f = File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        len += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hex(&hasher.finalize()), len))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
