//! Stage `debian-sign` (`debian.flow = "gbp"`): the built `.dsc` and `.changes` signed
//! with the Debian Developer's key as `debsign` signs them (the key in a file, or in
//! gpg-agent, smartcards included), then verified with the key's certificate alone.

use crate::config::{Config, DebianFlow};
use crate::shared::packaging::built_changes;
use crate::step::{Absent, Context, Credential, Need, Status, Step};
use crate::version::Release;

/// Inputs of the `debian-sign` stage.
#[derive(Debug, Clone)]
pub struct DebianSign {
    key: String,
}

impl Step for DebianSign {
    fn from_config(config: &Config, _release: &Release) -> Result<Self, Absent> {
        if config.debian.flow != DebianFlow::Gbp {
            return Err(Absent::new(
                "debian-sign",
                format!("debian.flow is \"{}\"", config.debian.flow.name()),
            ));
        }
        Ok(Self {
            key: config
                .debian
                .key
                .clone()
                .unwrap_or_else(|| "(debian.key unset)".into()),
        })
    }

    fn name(&self) -> &'static str {
        "debian-sign"
    }

    fn describe(&self) -> String {
        format!(
            "sign the built .dsc and .changes with the Debian Developer's key {}, as debsign does",
            self.key
        )
    }

    fn needs(&self) -> Vec<Need> {
        vec![Need::Consistency]
    }

    fn credentials(&self) -> Vec<Credential> {
        vec![Credential::DebianKey]
    }

    fn check(&self, ctx: &Context<'_>) -> anyhow::Result<Status> {
        let Some(changes) = built_changes(ctx)? else {
            return Ok(Status::ToDo {
                detail: Some("after debian-build".into()),
            });
        };
        let bytes = std::fs::read(&changes)?;
        if !lava_debian::is_signed(&bytes) {
            return Ok(Status::todo());
        }
        Ok(
            match crate::shared::packaging::verify_dd_signature(ctx, &changes) {
                Ok(fpr) => Status::Done {
                    evidence: format!("{} signed by {fpr}", changes.display()),
                },
                Err(e) => Status::Blocked {
                    reason: crate::error::one_line(&e),
                },
            },
        )
    }

    fn apply(&self, ctx: &Context<'_>) -> anyhow::Result<String> {
        let changes = built_changes(ctx)?
            .ok_or_else(|| anyhow::anyhow!("there is no built .changes; run debian-build first"))?;
        let signer = ctx.debian_signer()?;
        let armed = ctx.env.failpoint.as_deref();
        lava_debian::sign_upload_with(&changes, signer, &|at| {
            if at == lava_debian::DSC_SIGNED {
                crate::step::failpoint("debian-sign:dsc-signed", armed);
            }
        })?;
        let fpr = crate::shared::packaging::verify_dd_signature(ctx, &changes)?;
        Ok(format!("{} signed by {fpr}", changes.display()))
    }
}
