//! The `engine` transport against this machine's Docker Engine: images made with
//! `docker import`, pushed to a local source registry, then pulled, tagged and pushed
//! by lava-docker through bollard; the lists still go through the registry API.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};

use common::{PASSWORD, VERSION, htpasswd, image_set, options, skopeo_entries, skopeo_raw};
use lava_docker::{Promoter, TagState, Transport};
use tests::registry::{Auth, Registry, require_tool};

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Removes, by ID, every image the test made, whatever happens.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let mut ids = Vec::new();
        for reference in &self.0 {
            if let Ok(out) = Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", reference])
                .output()
                && out.status.success()
            {
                ids.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
            }
        }
        ids.sort();
        ids.dedup();
        for id in ids {
            let _ = Command::new("docker")
                .args(["rmi", "--force", &id])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

#[test]
fn the_engine_transport_pulls_tags_and_pushes_and_lists_go_through_the_api() {
    require_tool("docker", "docker.io").unwrap();
    docker(&["info", "--format", "{{.ServerVersion}}"]);
    let source = Registry::start(Auth::None).unwrap();
    let target = Registry::start(htpasswd()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cleanup = Cleanup(Vec::new());
    let mut configs = Vec::new();
    // dockerd 20.10 ignores `docker import --platform` (the config says the host's
    // arch), so the arm64 images come from the image maker, pushed by the API, and the
    // engine pulls those too.
    let arm = tests::registry::ImageLayout::generate(
        &tests::registry::ImageSetSpec {
            arches: vec![tests::registry::lava_arches()[1].clone()],
            ..tests::registry::ImageSetSpec::small(21)
        },
        &dir.path().join("arm64"),
    )
    .unwrap();
    arm.push_all(&source.host(), "lava/lava", VERSION, None)
        .unwrap();
    for image in ["lava-dispatcher", "lava-server"] {
        let arm64 = arm.image(image, "aarch64");
        cleanup.0.push(format!(
            "{}/lava/lava/aarch64/{image}:{VERSION}",
            source.host()
        ));
        configs.push((image, "aarch64", arm64.config.digest.clone()));
        for arch in ["amd64", "aarch64"] {
            cleanup.0.push(format!(
                "{}/lavasoftware/{arch}-{image}:{VERSION}",
                target.host()
            ));
            cleanup.0.push(format!(
                "{}/lavasoftware/{arch}-{image}:latest",
                target.host()
            ));
        }
        {
            let (arch, platform) = ("amd64", "linux/amd64");
            let root = dir.path().join(format!("{arch}-{image}"));
            std::fs::create_dir_all(root.join("etc")).unwrap();
            std::fs::write(
                root.join("etc/lava-image"),
                format!("{image} {arch} {VERSION}\n"),
            )
            .unwrap();
            let tarball = dir.path().join(format!("{arch}-{image}.tar"));
            let status = Command::new("tar")
                .arg("-C")
                .arg(&root)
                .args(["--mtime=2024-01-15", "-cf"])
                .arg(&tarball)
                .arg(".")
                .status()
                .unwrap();
            assert!(status.success());
            let reference = format!("{}/lava/lava/{arch}/{image}:{VERSION}", source.host());
            cleanup.0.push(reference.clone());
            let id = docker(&[
                "import",
                "--platform",
                platform,
                tarball.to_str().unwrap(),
                &reference,
            ]);
            docker(&["push", "--quiet", &reference]);
            configs.push((image, arch, id));
            cleanup.0.push(format!(
                "{}/lavasoftware/{arch}-{image}:{VERSION}",
                target.host()
            ));
            cleanup.0.push(format!(
                "{}/lavasoftware/{arch}-{image}:latest",
                target.host()
            ));
        }
    }
    // The engine must pull them: drop the local copies first (by ID).
    for (_, arch, id) in &configs {
        if *arch == "amd64" {
            docker(&["rmi", "--force", id]);
        }
    }

    let set = image_set(&source.host(), &target.host());
    let promoter = Promoter::new(lava_docker::Options {
        transport: Transport::Engine {
            socket: "/var/run/docker.sock".into(),
        },
        ..options(&target.host(), PASSWORD)
    })
    .unwrap();
    let promotion = promoter.check(&set).unwrap();
    assert_eq!(promotion.moves().count(), 12, "{promotion}");
    let report = promoter.apply(&set).unwrap();
    assert_eq!(report.moved.len(), 12, "{report:?}");

    for (image, arch, id) in &configs {
        // The engine recompresses layers, so the manifest digest is the target's own;
        // the image (config) is the source's, and the engine keeps it locally.
        let manifest = skopeo_raw(
            &format!("{}/lavasoftware/{arch}-{image}:{VERSION}", target.host()),
            &target.host(),
        );
        assert_eq!(manifest["config"]["digest"].as_str().unwrap(), id);
        let local = docker(&[
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            &format!("{}/lavasoftware/{arch}-{image}:latest", target.host()),
        ]);
        assert_eq!(&local, id);
    }
    for image in ["lava-dispatcher", "lava-server"] {
        for tag in [VERSION, "latest"] {
            let entries = skopeo_entries(
                &format!("{}/lavasoftware/{image}:{tag}", target.host()),
                &target.host(),
            );
            let platforms: Vec<_> = entries
                .iter()
                .map(|e| e.split(' ').next().unwrap())
                .collect();
            assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
            for (entry, arch) in entries.iter().zip(["amd64", "aarch64"]) {
                let member = report
                    .verified
                    .iter()
                    .find(|v| {
                        v.target.repository.path == format!("lavasoftware/{arch}-{image}")
                            && v.target.tag.as_deref() == Some(VERSION)
                    })
                    .unwrap();
                assert!(entry.ends_with(member.digest.as_str()), "{entry}");
            }
        }
    }
    let promotion = promoter.check(&set).unwrap();
    assert!(
        promotion.tags.iter().all(|t| t.state == TagState::Done),
        "{promotion}"
    );
}
