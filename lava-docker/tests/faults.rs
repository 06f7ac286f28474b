//! Faults between the registries: dropped connections, 500s, a failure before `latest`,
//! and a re-run after a crash.
#![allow(clippy::unwrap_used)]

mod common;

use common::{PASSWORD, Source, VERSION, htpasswd, image_set, promoter, skopeo_entries};
use lava_docker::{TagState, TargetKind};
use tests::registry::{Fault, FaultProxy, ImageSetSpec, Registry};

#[test]
fn a_source_that_drops_the_connection_mid_blob_is_retried() {
    let source = Source::start(&ImageSetSpec::small(11));
    let proxy = FaultProxy::start(source.registry.port()).unwrap();
    let base = &source.layout.image("lava-server", "amd64").layers[0];
    proxy.inject(Fault::DropMidBody {
        method: "GET".into(),
        path_contains: format!("/blobs/{}", base.digest),
        after: 10_000,
        times: 2,
    });
    let target = Registry::start(htpasswd()).unwrap();
    let set = image_set(&proxy.host(), &target.host());
    let recorder = tests::meter::Recorder::default();
    let report = lava_docker::Promoter::new(lava_docker::Options {
        meter: recorder.meter(),
        ..common::options(&target.host(), PASSWORD)
    })
    .unwrap()
    .apply(&set)
    .unwrap();
    assert_eq!(proxy.fired(), 2);
    assert!(report.retries >= 2, "{report:?}");
    assert_eq!(report.moved.len(), 12);
    // The bytes sent again after each drop are not counted twice.
    for t in recorder.transfers() {
        assert_eq!(t.total, Some(t.done), "{t:?}");
    }
    assert_eq!(
        skopeo_entries(
            &format!("{}/lavasoftware/lava-server:latest", target.host()),
            &target.host()
        )[0],
        format!(
            "linux/amd64 {}",
            source.layout.image("lava-server", "amd64").digest
        )
    );
}

#[test]
fn a_target_answering_500_once_is_retried() {
    let source = Source::start(&ImageSetSpec::small(12));
    let target = Registry::start(htpasswd()).unwrap();
    let proxy = FaultProxy::start(target.port()).unwrap();
    for path in ["/manifests/", "/blobs/uploads/"] {
        proxy.inject(Fault::Status {
            method: if path.contains("uploads") {
                "POST"
            } else {
                "PUT"
            }
            .into(),
            path_contains: path.into(),
            status: 500,
            times: 1,
        });
    }
    let set = image_set(&source.registry.host(), &proxy.host());
    let report = promoter(&proxy.host(), PASSWORD).apply(&set).unwrap();
    assert_eq!(proxy.fired(), 2);
    assert!(report.retries >= 2, "{report:?}");
    assert_eq!(report.verified.len(), 12);
}

#[test]
fn latest_stays_put_when_a_list_push_fails_and_a_rerun_finishes() {
    let source = Source::start(&ImageSetSpec::small(13));
    let target = Registry::start(htpasswd()).unwrap();
    let proxy = FaultProxy::start(target.port()).unwrap();
    // Every attempt at the lava-server list's version tag fails.
    proxy.inject(Fault::Status {
        method: "PUT".into(),
        path_contains: format!("/lavasoftware/lava-server/manifests/{VERSION}"),
        status: 503,
        times: 4,
    });
    let set = image_set(&source.registry.host(), &proxy.host());
    let promoter = promoter(&proxy.host(), PASSWORD);
    let err = promoter.apply(&set).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "PUT http://{}/v2/lavasoftware/lava-server/manifests/{VERSION} returned 503",
            proxy.host()
        )),
        "{err}"
    );
    assert_eq!(proxy.fired(), 4);

    let promotion = promoter.check(&set).unwrap();
    for tag in &promotion.tags {
        let latest = tag.target.tag.as_deref() == Some("latest");
        let failed_list = tag.kind == TargetKind::List
            && tag.target.repository.path == "lavasoftware/lava-server";
        let expect = if latest || failed_list {
            TagState::Create
        } else {
            TagState::Done
        };
        assert_eq!(tag.state, expect, "{}\n{promotion}", tag.target);
    }

    // The fault is spent; running again finishes the job and touches only what is left.
    let report = promoter.apply(&set).unwrap();
    // The lava-server list's version tag, and every `latest`.
    assert_eq!(report.moved.len(), 7, "{report:?}");
    assert_eq!(report.unchanged.len(), 5);
    assert_eq!(report.blobs_copied, 0);
    assert!(promoter.check(&set).unwrap().is_done());
}

#[test]
fn a_rerun_after_a_crash_mid_copy_finishes_the_job() {
    // A crash leaves some blobs uploaded, an upload session open and no tags: kill a
    // promotion (a child process) while the proxy holds a blob back, then run again.
    let source = Source::start(&ImageSetSpec {
        base_size: 4 << 20,
        ..ImageSetSpec::small(14)
    });
    let target = Registry::start(htpasswd()).unwrap();
    let proxy = FaultProxy::start(target.port()).unwrap();
    let example = tests::bin::target_dir()
        .join("debug")
        .join("examples")
        .join("promote");
    assert!(
        example.exists(),
        "{} is missing; `cargo test -p lava-docker` builds it",
        example.display()
    );
    let mut child = std::process::Command::new(&example)
        .args([
            "--source",
            &source.registry.host(),
            "--target",
            &proxy.host(),
        ])
        .args(["--version", VERSION, "--user", common::USER])
        .env("LAVA_DOCKER_PASSWORD", PASSWORD)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until blob uploads have begun, then crash it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !proxy
        .requests()
        .iter()
        .any(|r| r.starts_with("PUT") && r.contains("/blobs/uploads/"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            proxy.requests()
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let set = image_set(&source.registry.host(), &proxy.host());
    let promoter = promoter(&proxy.host(), PASSWORD);
    let promotion = promoter.check(&set).unwrap();
    assert!(!promotion.is_done(), "{promotion}");
    let report = promoter.apply(&set).unwrap();
    assert_eq!(report.verified.len(), 12);
    assert!(promoter.check(&set).unwrap().is_done());
    assert_eq!(
        skopeo_entries(
            &format!("{}/lavasoftware/lava-dispatcher:{VERSION}", target.host()),
            &target.host()
        )[1],
        format!(
            "linux/arm64/v8 {}",
            source.layout.image("lava-dispatcher", "aarch64").digest
        )
    );
}
