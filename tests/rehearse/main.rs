//! `cargo xtask rehearse [VERSION]` once xtask has installed the Debian packages: a whole
//! release through the real `lava-release` binary against the stand-ins, twice: as LAVA
//! releases today (the apt repository published by CI's pipeline) and as the written
//! process has it (reprepro by hand, a Debian upload), each report printed. Also runnable
//! on its own: `cargo run -p tests --bin rehearse -- [VERSION]`.

use tests::rehearsal::{Options, Publishing};

fn main() -> anyhow::Result<()> {
    let version = std::env::args()
        .nth(1)
        .unwrap_or_else(|| tests::rehearsal::DEFAULT_VERSION.to_owned());
    let mut failed = Vec::new();
    for publishing in [Publishing::Pipeline, Publishing::Reprepro] {
        let options = Options {
            publishing,
            ..Options::default()
        };
        let report =
            tests::rehearsal::rehearse_with(&tests::bin::lava_release_bin(), &version, options)?;
        println!("{report}");
        if !report.passed() {
            failed.push(publishing.name());
        }
    }
    anyhow::ensure!(
        failed.is_empty(),
        "the rehearsal of {version} failed ({})",
        failed.join(", ")
    );
    Ok(())
}
