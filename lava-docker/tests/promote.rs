//! Promotion between two real `docker-registry` servers on 127.0.0.1, checked with
//! skopeo.
#![allow(clippy::unwrap_used)]

mod common;

use common::{PASSWORD, Source, VERSION, htpasswd, image_set, promoter, skopeo_entries, token};
use lava_docker::{Promoter, TagState};
use tests::registry::{Auth, ImageSetSpec, MediaTypes, Registry};

fn source_digest(source: &Source, image: &str, arch: &str) -> String {
    source.layout.image(image, arch).digest.clone()
}

/// Both lists, under both tags, list linux/amd64 and linux/arm64/v8 at the source
/// digests, as skopeo reads them.
fn assert_lists(source: &Source, target: &Registry) {
    for image in ["lava-dispatcher", "lava-server"] {
        for tag in [VERSION, "latest"] {
            let reference = format!("{}/lavasoftware/{image}:{tag}", target.host());
            assert_eq!(
                skopeo_entries(&reference, &target.host()),
                [
                    format!("linux/amd64 {}", source_digest(source, image, "amd64")),
                    format!("linux/arm64/v8 {}", source_digest(source, image, "aarch64")),
                ],
                "{reference}"
            );
        }
    }
}

#[test]
fn promotes_to_an_htpasswd_registry_and_skopeo_sees_both_platforms() {
    let source = Source::start(&ImageSetSpec::small(1));
    let target = Registry::start(htpasswd()).unwrap();
    let set = image_set(&source.registry.host(), &target.host());
    let promoter = promoter(&target.host(), PASSWORD);

    let promotion = promoter.check(&set).unwrap();
    assert_eq!(promotion.moves().count(), 12, "{promotion}");
    insta::with_settings!({filters => vec![
        (r"127\.0\.0\.1:\d+", "[registry]"),
        (r"sha256:[0-9a-f]{64}", "[digest]"),
    ]}, {
        insta::assert_snapshot!(promotion.to_string());
    });

    let report = promoter.apply(&set).unwrap();
    assert_eq!(report.moved.len(), 12);
    // Two bases, four own layers and four configs, each streamed once; the rest mounted.
    assert_eq!(report.blobs_copied, 10, "{report:?}");
    assert!(report.blobs_mounted >= 2 + 12, "{report:?}");
    assert_eq!(report.verified.len(), 12);
    assert_lists(&source, &target);
    for image in ["lava-dispatcher", "lava-server"] {
        for arch in ["amd64", "aarch64"] {
            let raw = common::skopeo_raw(
                &format!("{}/lavasoftware/{arch}-{image}:latest", target.host()),
                &target.host(),
            );
            let bytes = serde_json::to_vec(&raw).unwrap();
            let ours: serde_json::Value =
                serde_json::from_slice(&source.layout.image(image, arch).manifest).unwrap();
            assert_eq!(raw, ours, "{}", String::from_utf8_lossy(&bytes));
        }
    }

    // Idempotent: everything is done, and the evidence is the digests.
    let promotion = promoter.check(&set).unwrap();
    assert!(promotion.is_done(), "{promotion}");
    let again = promoter.apply(&set).unwrap();
    assert!(again.moved.is_empty(), "{again:?}");
    assert_eq!(again.unchanged.len(), 12);
}

#[test]
fn a_re_run_with_every_tag_in_place_only_reads_each_target_tag_once() {
    let source = Source::start(&ImageSetSpec::small(4));
    let target = Registry::start(htpasswd()).unwrap();
    let proxy = tests::registry::FaultProxy::start(target.port()).unwrap();
    let set = image_set(&source.registry.host(), &proxy.host());
    let promoter = promoter(&proxy.host(), PASSWORD);
    let first = promoter.apply(&set).unwrap();
    assert_eq!(first.moved.len(), 12);
    let seen = proxy.requests().len();

    let again = promoter.apply(&set).unwrap();
    assert!(again.moved.is_empty(), "{again:?}");
    assert_eq!(again.verified.len(), 12);
    let lists: Vec<_> = again
        .verified
        .iter()
        .filter(|v| !v.entries.is_empty())
        .collect();
    assert_eq!(lists.len(), 4, "{again:?}");
    assert!(lists.iter().all(|v| v.entries.len() == 2), "{again:?}");
    // One HEAD per target tag (8 per-arch, 4 lists), nothing written, nothing fetched.
    let rerun: Vec<String> = proxy.requests()[seen..].to_vec();
    let heads = rerun
        .iter()
        .filter(|r| r.starts_with("HEAD ") && r.contains("/manifests/"))
        .count();
    assert_eq!(heads, 12, "{rerun:#?}");
    assert!(
        rerun
            .iter()
            .all(|r| r.starts_with("HEAD ") || r == "GET /v2/"),
        "{rerun:#?}"
    );
}

#[test]
fn promotes_to_a_token_auth_registry_like_docker_hub() {
    let source = Source::start(&ImageSetSpec::small(2));
    let target = Registry::start(token()).unwrap();
    let set = image_set(&source.registry.host(), &target.host());
    let recorder = tests::meter::Recorder::default();
    let promoter = lava_docker::Promoter::new(lava_docker::Options {
        meter: recorder.meter(),
        ..common::options(&target.host(), PASSWORD)
    })
    .unwrap();
    let report = promoter.apply(&set).unwrap();
    assert_eq!(report.moved.len(), 12);
    assert!(target.token_requests() > 0);
    assert_lists(&source, &target);
    // One transfer per target repository (two images in two arches, and the two
    // multi-arch ones), each carried to its total: its blobs' bytes, copied, mounted
    // or found there.
    let transfers = recorder.transfers();
    assert_eq!(transfers.len(), 6, "{transfers:?}");
    for t in &transfers {
        assert!(
            t.name
                .starts_with(&format!("{}/lavasoftware/", target.host())),
            "{t:?}"
        );
        assert!(
            t.total.is_some_and(|total| total > 0 && total == t.done) && t.ended,
            "{t:?}"
        );
    }
}

#[test]
fn a_bad_password_is_one_sentence_without_a_retry_storm() {
    let source = Source::start(&ImageSetSpec::small(3));
    for auth in [htpasswd(), token()] {
        let target = Registry::start(auth.clone()).unwrap();
        let proxy = tests::registry::FaultProxy::start(target.port()).unwrap();
        let set = image_set(&source.registry.host(), &proxy.host());
        let promoter = promoter(&proxy.host(), "wrong-password");
        let err = promoter.apply(&set).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{0} rejected the password of user `lava`; check the credentials for {0} (docker login {0})",
                proxy.host()
            ),
            "{auth:?}"
        );
        assert!(!format!("{err:?}").contains("wrong-password"));
        // A ping, one request per concurrent check that hit the 401, and no more.
        let requests = proxy.requests().len() + target.token_requests();
        assert!(
            requests <= 12,
            "{requests} requests: {:?}",
            proxy.requests()
        );
    }
}

#[test]
fn oci_media_types_and_digests_are_preserved() {
    let spec = ImageSetSpec {
        media: MediaTypes::Oci,
        ..ImageSetSpec::small(4)
    };
    let source = Source::start(&spec);
    let target = Registry::start(htpasswd()).unwrap();
    let set = image_set(&source.registry.host(), &target.host());
    promoter(&target.host(), PASSWORD).apply(&set).unwrap();
    let list = common::skopeo_raw(
        &format!("{}/lavasoftware/lava-server:{VERSION}", target.host()),
        &target.host(),
    );
    assert_eq!(list["mediaType"], "application/vnd.oci.image.index.v1+json");
    assert_lists(&source, &target);
}

#[test]
fn a_new_build_under_the_same_version_moves_every_tag() {
    let mut source = Source::start(&ImageSetSpec::small(5));
    let target = Registry::start(htpasswd()).unwrap();
    let set = image_set(&source.registry.host(), &target.host());
    let promoter = promoter(&target.host(), PASSWORD);
    promoter.apply(&set).unwrap();
    source.repush(&ImageSetSpec::small(6));
    let promotion = promoter.check(&set).unwrap();
    assert!(
        promotion.tags.iter().all(|t| t.state == TagState::Move),
        "{promotion}"
    );
    let report = promoter.apply(&set).unwrap();
    assert_eq!(report.moved.len(), 12);
    assert_lists(&source, &target);
}

#[test]
fn anonymous_push_to_an_auth_registry_says_to_log_in() {
    let source = Source::start(&ImageSetSpec::small(7));
    let target = Registry::start(Auth::Htpasswd {
        user: "someone".into(),
        password: "x".into(),
    })
    .unwrap();
    let set = image_set(&source.registry.host(), &target.host());
    let err = Promoter::new(lava_docker::Options::default())
        .unwrap()
        .check(&set)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("{} requires credentials for", target.host())),
        "{err}"
    );
}
