//! The repository archive GitLab makes of a tag: the tarball a Debian orig is taken from.

use std::path::Path;

use gitlab::api::projects::repository::{Archive, ArchiveFormat};

use crate::Result;
use crate::client::{Call, GitLab};

impl GitLab {
    /// Downloads `GET /projects/:id/repository/archive.tar.gz?sha=REF` into `dest` as GitLab
    /// serves it (gzip, every path under `PROJECT-REF-SHA/`), streamed; returns its size.
    /// `dest` is written in place: the caller writes to a temporary name and renames.
    pub fn download_archive(&self, reference: &str, dest: &Path) -> Result<u64> {
        let endpoint = Archive::builder()
            .project(self.project().name_or_id())
            .format(ArchiveFormat::TarGz)
            .sha(reference)
            .build()
            .expect("project is set");
        let url = self.url_for(&endpoint)?;
        let call = Call::read(
            format!("download the archive of `{reference}`"),
            format!("the repository archive of `{reference}`"),
            "that the tag is on GitLab",
        );
        self.download(&call, &url, dest, &format!("{reference}.tar.gz"))
    }
}
