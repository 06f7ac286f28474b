//! `cargo xtask rehearse [VERSION]` once xtask has installed the Debian packages: a whole
//! release through the real `lava-release` binary against the stand-ins, three times: as
//! LAVA releases today (the apt repository published by CI's pipeline, the Debian
//! Developer's git-buildpackage flow), as the written process has it (reprepro by hand,
//! the Debian upload fetched and signed), and as LAVA today with a tag2upload tag; each
//! report printed. Also runnable on its own: `cargo run -p tests --bin rehearse --
//! [VERSION]`.

use tests::rehearsal::{DebianPath, Options, Publishing};

fn main() -> anyhow::Result<()> {
    let version = std::env::args()
        .nth(1)
        .unwrap_or_else(|| tests::rehearsal::DEFAULT_VERSION.to_owned());
    let mut failed = Vec::new();
    for (publishing, debian) in [
        (Publishing::Pipeline, DebianPath::Gbp),
        (Publishing::Reprepro, DebianPath::Dget),
        (Publishing::Pipeline, DebianPath::Tag2upload),
    ] {
        let options = Options {
            publishing,
            debian,
            ..Options::default()
        };
        let report =
            tests::rehearsal::rehearse_with(&tests::bin::lava_release_bin(), &version, options)?;
        println!("{report}");
        if !report.passed() {
            failed.push(format!("{}, {}", publishing.name(), debian.name()));
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "the rehearsal of {version} failed ({})",
        failed.join(", ")
    );
    Ok(())
}
