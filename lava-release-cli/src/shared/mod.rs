//! What several stages share, one home per concern: the git remote's credentials and
//! the release commit, the GitLab client and pipeline waits, the apt repository site
//! and its uploads, the Docker promoter, the Debian templates, the gbp flow's packaging repository, the announcement's
//! record. Names no stage.

pub mod announce;
pub mod debian;
pub mod docker;
pub mod git;
pub mod gitlab;
pub mod packaging;
pub mod repo;
