//! Stage `debian-build` (`debian.flow = "gbp"`): `gbp buildpackage` in the packaging
//! repository with the configured builder (`sbuild -s` by default, as the written process
//! chooses; `--no-run-lintian` to sbuild when `debian.lintian = false`), exported and
//! built under `.git/lava-release/debian/VERSION/gbp/build/`, its output streamed and
//! logged. The `.changes` it leaves must be sourceful and of this release's version.

use anyhow::Context as _;

use crate::config::{Config, DebianFlow};
use crate::shared::packaging::{Packaging, build_dir, built_changes, check_changes, work_dir};
use crate::step::{Absent, Context, Need, Status, Step, Verbosity, short};
use crate::version::Release;

/// Inputs of the `debian-build` stage.
#[derive(Debug, Clone)]
pub struct DebianBuild {
    debian_version: String,
    builder: String,
}

impl Step for DebianBuild {
    fn from_config(config: &Config, release: &Release) -> Result<Self, Absent> {
        if config.debian.flow != DebianFlow::Gbp {
            return Err(Absent::new(
                "debian-build",
                format!("debian.flow is \"{}\"", config.debian.flow.name()),
            ));
        }
        let mut builder = config.debian.package_builder.trim().to_owned();
        if !config.debian.lintian && builder.split_whitespace().next() == Some("sbuild") {
            builder.push_str(" --no-run-lintian");
        }
        Ok(Self {
            debian_version: release.debian_version.to_string(),
            builder,
        })
    }

    fn name(&self) -> &'static str {
        "debian-build"
    }

    fn describe(&self) -> String {
        format!(
            "build {} with `gbp buildpackage --git-builder={}` in the packaging repository",
            self.debian_version,
            shell_quote(&self.builder)
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let Some(changes) = built_changes(ctx)? else {
            return Ok(Status::todo());
        };
        Ok(match check_changes(ctx, &changes)? {
            Some(reason) => Status::Blocked { reason },
            None => Status::Done {
                evidence: format!("{} (sourceful)", changes.display()),
            },
        })
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let packaging = Packaging::in_context(ctx)?;
        let repo = packaging.need()?;
        let output = build_dir(ctx);
        if output.exists() {
            // Only this stage writes there: a failed build's leftovers go.
            std::fs::remove_dir_all(&output)
                .with_context(|| format!("cannot remove {}", output.display()))?;
        }
        std::fs::create_dir_all(&output)
            .with_context(|| format!("cannot create {}", output.display()))?;
        let command = format!(
            "gbp buildpackage --git-builder={} --git-export-dir={} --git-tarball-dir={}",
            shell_quote(&self.builder),
            shell_quote(&output.display().to_string()),
            shell_quote(&work_dir(ctx).display().to_string()),
        );
        let build = lava_debian::DevBuild {
            command,
            dir: packaging.dir.clone(),
            env: Vec::new(),
            log: work_dir(ctx).join("build.log"),
        };
        let quiet = ctx.verbosity == Verbosity::Quiet;
        lava_debian::dev_build(&build, &mut |line| {
            if !quiet {
                eprintln!("    | {line}");
            }
        })?;
        let changes = built_changes(ctx)?.with_context(|| {
            format!(
                "the build left no .changes of {} in {}; see {}",
                self.debian_version,
                output.display(),
                build.log.display()
            )
        })?;
        if let Some(reason) = check_changes(ctx, &changes)? {
            anyhow::bail!("{reason}");
        }
        Ok(format!(
            "built {} at {} of {}: {}",
            self.debian_version,
            short(&repo.head_id()?),
            packaging.dir.display(),
            changes.display()
        ))
    }
}

/// `text` as one word for `sh`.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}
