//! The hash algorithms of a Release file: a leaf that the parser, the hashing, the
//! checks and the error type all name.

/// The hash algorithms a Release file may list, in the order reprepro writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// `MD5Sum`.
    Md5,
    /// `SHA1`.
    Sha1,
    /// `SHA256`.
    Sha256,
    /// `SHA512`.
    Sha512,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
    ];

    /// The Release field listing this algorithm's hashes.
    pub fn field(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5Sum",
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Length of the hexadecimal digest.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.field())
    }
}
