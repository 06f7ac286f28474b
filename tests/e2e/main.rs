//! End-to-end tests: the `lava-release` binary against real tools.

// Test code: a panic with the value is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod announce;
mod apt_publish;
mod changelog;
mod consistency;
mod debian_stages;
mod gbp_flow;
mod git_stages;
mod gitlab_stages;
mod gpg_agent;
mod manifest;
mod rehearsal;
mod release;
mod repo_stages;
mod resilience;
mod shell;
mod support;
mod tag2upload;
