//! `cargo xtask rehearse [VERSION]` once xtask has installed the Debian packages: a whole
//! release through the real `lava-release` binary against the stand-ins, its report
//! printed. Also runnable on its own: `cargo run -p tests --bin rehearse -- [VERSION]`.

fn main() -> anyhow::Result<()> {
    let version = std::env::args()
        .nth(1)
        .unwrap_or_else(|| tests::rehearsal::DEFAULT_VERSION.to_owned());
    let report = tests::rehearsal::rehearse(&tests::bin::lava_release_bin(), &version)?;
    print!("{report}");
    anyhow::ensure!(report.passed(), "the rehearsal of {version} failed");
    Ok(())
}
