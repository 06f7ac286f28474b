//! The image-version benchmark: the consistency gate's proof that a LAVA-sized image
//! holds the release (`lava_common/VERSION`, read from the image's layers newest first,
//! each streamed and abandoned once it has answered), side by side with what one does
//! without it: `skopeo copy` of the image into a directory, then `tar -xzOf` of each
//! layer, newest first, until one holds the file. Prints the bytes each downloads, the
//! median times and their ratios.
//!
//! The image is lava-server for amd64 as the docker benchmark generates it (a 120 MB base
//! layer and a 55 MB layer of its own), with the version file as the first entry of its
//! own layer. In LAVA's real image the file comes after `etc/` (the device types, a few
//! MB) in the install layer; the figure here is the floor. Ours runs as its own process
//! (lava-docker's `read_file` example, release build).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use tests::registry::{Auth, ImageLayout, ImageSetSpec, MediaTypes, Registry, require_tool};

const VERSION: &str = "2026.01";
const FILE: &str = "/usr/lib/python3/dist-packages/lava_common/VERSION";
/// Bump when the fixture's shape changes.
const FIXTURE_VERSION: &str = "1";

fn spec() -> ImageSetSpec {
    ImageSetSpec {
        images: vec!["lava-server".into()],
        arches: vec![tests::registry::lava_arches()[0].clone()],
        base_size: 120 << 20,
        own_size: 55 << 20,
        media: MediaTypes::Docker,
        version_file: Some(VERSION.into()),
        ..ImageSetSpec::small(2027)
    }
}

/// Runs `cargo xtask bench image-version`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (iterations, regenerate) = crate::fixture_options(args, "image-version", 5)?;
    require_tool("skopeo", "skopeo")?;
    let fixtures = tests::bin::target_dir().join("bench-fixtures");
    let layout_dir = fixtures.join("image-version-images");
    let storage = fixtures.join("image-version-registry");
    if regenerate {
        for dir in [&layout_dir, &storage] {
            if dir.exists() {
                std::fs::remove_dir_all(dir)?;
            }
        }
    }
    let layout = ImageLayout::generate(&spec(), &layout_dir)?;
    let registry = Registry::start_with_storage(Auth::None, Some(&storage))?;
    let stamp = storage.join(".complete");
    let fingerprint = format!("{FIXTURE_VERSION} {}", layout.images[0].digest);
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(fingerprint.as_str()) {
        layout.push_all(&registry.host(), "lava/lava", VERSION, None)?;
        std::fs::write(&stamp, &fingerprint)?;
    }
    let image = format!("{}/lava/lava/amd64/lava-server:{VERSION}", registry.host());
    let image_bytes: u64 = layout.images[0].layers.iter().map(|l| l.size).sum();
    println!(
        "image-version benchmark: {image}, {} layers, {} MB",
        layout.images[0].layers.len(),
        image_bytes / 1_000_000
    );
    let reader = crate::release_example("lava-docker", "read_file")?;
    let work = tempfile::Builder::new()
        .prefix("lava-bench-image-version-")
        .tempdir()?;

    let mut ours = Vec::new();
    let mut peer = Vec::new();
    let mut ours_bytes = 0;
    let mut peer_bytes = 0;
    for _ in 0..iterations {
        let start = Instant::now();
        let out = crate::output(Command::new(&reader).args([&image, FILE]))?;
        ours.push(start.elapsed());
        ensure!(out.starts_with(VERSION), "read_file printed {out}");
        ours_bytes = out
            .lines()
            .last()
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|n| n.parse::<u64>().ok())
            .context("read_file printed no byte count")?;

        let dir = work.path().join("skopeo");
        let _ = std::fs::remove_dir_all(&dir);
        let start = Instant::now();
        let said = skopeo_then_tar(&image, &dir)?;
        peer.push(start.elapsed());
        ensure!(said.starts_with(VERSION), "tar printed {said}");
        peer_bytes = dir_bytes(&dir)?;
    }
    let ours_ms = median_ms(&mut ours);
    let peer_ms = median_ms(&mut peer);
    println!(
        "\n{:<58} {:>12} {:>10} {:>8}",
        "median of runs", "bytes", "ms", "ratio"
    );
    println!(
        "{:<58} {ours_bytes:>12} {ours_ms:>10.0} {:>7.3}x",
        "lava-docker read_file (the consistency gate's read)",
        ours_ms / peer_ms
    );
    println!(
        "{:<58} {peer_bytes:>12} {peer_ms:>10.0} {:>7.3}x",
        "skopeo copy docker:// dir: + tar -xzOf, newest layer first", 1.0
    );
    println!(
        "ratios: bytes ours/skopeo {:.5}, time ours/skopeo {:.3}",
        ours_bytes as f64 / peer_bytes as f64,
        ours_ms / peer_ms
    );
    Ok(())
}

/// The peer: the whole image into `dir`, then each layer, newest first, until one
/// holds the file.
fn skopeo_then_tar(image: &str, dir: &Path) -> anyhow::Result<String> {
    crate::output(
        Command::new("skopeo")
            .args(["copy", "--quiet", "--src-tls-verify=false"])
            .arg(format!("docker://{image}"))
            .arg(format!("dir:{}", dir.display())),
    )?;
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
    let layers = manifest["layers"].as_array().context("no layers")?;
    for layer in layers.iter().rev() {
        let digest = layer["digest"].as_str().context("a layer without digest")?;
        let file = dir.join(digest.trim_start_matches("sha256:"));
        let out = Command::new("tar")
            .arg("-xzOf")
            .arg(&file)
            .arg(FILE.trim_start_matches('/'))
            .output()?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    anyhow::bail!("no layer of {image} holds {FILE}")
}

fn dir_bytes(dir: &Path) -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        total += entry?.metadata()?.len();
    }
    Ok(total)
}

fn median_ms(runs: &mut [Duration]) -> f64 {
    crate::median(runs).as_secs_f64() * 1000.0
}
