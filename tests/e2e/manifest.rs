//! The release manifest and `verify-release`: a whole release against the stand-ins
//! attaches the signed manifest to the GitLab release (`gpgv` accepts its signature),
//! a re-run finds it there, `verify-release` run by anyone passes every check, then each way the world can come
//! to disagree with it fails the claim it breaks, naming both values.

use std::process::Output;

use tests::rehearsal::{ImageRegistry, Rehearsal};

use crate::support::git;

const V: &str = tests::rehearsal::DEFAULT_VERSION;
const PACKAGE: &str = "lava-release-manifest";

/// Each check of `verify-release --json`: claim, pass, evidence.
fn checks(out: &Output) -> Vec<(String, bool, String)> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify-release --json printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["claim"].as_str().unwrap().to_owned(),
                c["pass"] == true,
                c["evidence"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `verify-release --json`, which must fail, and its one failing check whose claim
/// contains `claim`.
fn failing(r: &Rehearsal, claim: &str) -> (String, String) {
    let out = r.verify_release(&["--json"]).unwrap();
    assert!(!out.status.success(), "verify-release passed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("check(s) of release"), "{stderr}");
    let all = checks(&out);
    let found = all
        .iter()
        .find(|(c, pass, _)| !pass && c.contains(claim))
        .unwrap_or_else(|| panic!("no failing `{claim}` check in {all:#?}"));
    (found.0.clone(), found.2.clone())
}

#[test]
fn verify_release_names_each_claim_the_world_no_longer_keeps() {
    let r = Rehearsal::setup(&tests::bin::lava_release_bin(), V).unwrap();
    r.release().unwrap();
    let gitlab = r.sandbox().gitlab().unwrap();
    let name = format!("lava-{V}.manifest.json");
    let asc = format!("{name}.asc");

    // The journal keeps the manifest; GitLab serves the same bytes, linked from the
    // release; gpgv accepts the signature with the release key alone.
    let state = r.sandbox().repo().join(".git/lava-release");
    let json = std::fs::read(state.join(&name)).unwrap();
    let signature = std::fs::read(state.join(&asc)).unwrap();
    assert_eq!(gitlab.package_file(PACKAGE, V, &name), Some(json.clone()));
    assert_eq!(
        gitlab.package_file(PACKAGE, V, &asc),
        Some(signature.clone())
    );
    let links: Vec<String> = gitlab.release_links(V).into_iter().map(|l| l.0).collect();
    assert!(links.contains(&name) && links.contains(&asc), "{links:?}");
    let gpgv = std::process::Command::new("gpgv")
        .arg("--keyring")
        .arg(r.apt().public_key())
        .arg(state.join(&asc))
        .arg(state.join(&name))
        .output()
        .unwrap();
    assert!(
        gpgv.status.success(),
        "gpgv: {}",
        String::from_utf8_lossy(&gpgv.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(manifest["schema_version"], 1);
    assert_eq!(manifest["version"], V);
    assert!(
        manifest["announcement"]["message_id"].is_string(),
        "{manifest}"
    );

    // Anyone: no repository, no token; every check passes.
    let before = gitlab.requests().len();
    let out = r.verify_release(&[]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("FAIL"), "{text}");
    let lines = text.lines().filter(|l| l.starts_with("ok  ")).count();
    assert!(
        text.contains(&format!("{lines} of {lines} check(s) passed")),
        "{text}"
    );
    for claim in [
        "apt suite bookworm",
        "apt suite trixie",
        "lavasoftware/lava-server:",
        "pipeline ",
    ] {
        assert!(text.contains(claim), "no `{claim}` check in {text}");
    }
    let requests = gitlab.requests();
    assert!(
        requests[before..].iter().all(|q| q.auth == "no token"),
        "{:?}",
        &requests[before..]
    );

    // A re-run finds it published and uploads nothing; another manifest under the same
    // name is never replaced: blocked, both SHA-256 named.
    let uploads = || {
        gitlab
            .requests()
            .iter()
            .filter(|q| q.method == "PUT" && q.path.contains("/packages/generic/"))
            .count()
    };
    assert_eq!(uploads(), 2);
    let out = r
        .run(&["run", V, "--yes", "--only", "manifest"], None)
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("0 stage(s) applied"),
        "{stdout}"
    );
    gitlab.set_package_file(PACKAGE, V, &name, b"{}\n");
    let out = r
        .run(&["run", V, "--yes", "--only", "manifest"], None)
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains(&format!("already holds another {name} (SHA-256 "))
            && stderr.contains("remove it from the package registry"),
        "{stderr}"
    );
    assert_eq!(uploads(), 2);
    gitlab.set_package_file(PACKAGE, V, &name, &json);

    // A tampered manifest: only its signature is checked, and it fails.
    let tampered = String::from_utf8(json.clone()).unwrap().replacen(
        "\"debian_version\"",
        "\"debian_version\" ",
        1,
    );
    gitlab.set_package_file(PACKAGE, V, &name, tampered.as_bytes());
    let out = r.verify_release(&["--json"]).unwrap();
    let all = checks(&out);
    assert!(!out.status.success());
    assert_eq!(all.len(), 1, "{all:#?}");
    assert!(all[0].0.contains(&name) && !all[0].1, "{all:#?}");
    gitlab.set_package_file(PACKAGE, V, &name, &json);

    // A signature by another key.
    let dir = tempfile::tempdir().unwrap();
    let other = tests::keys::generate(
        "Mallory",
        "mallory@example.org",
        std::time::SystemTime::now() - std::time::Duration::from_secs(60),
    );
    let other = tests::keys::signer(
        &other,
        &dir.path().join("other.key"),
        std::time::SystemTime::now(),
    );
    let forged = other.sign_detached_armored(&json).unwrap();
    gitlab.set_package_file(PACKAGE, V, &asc, forged.as_bytes());
    let (_, evidence) = failing(&r, "the signature of");
    assert!(
        evidence.contains("other claims were not checked"),
        "{evidence}"
    );
    gitlab.set_package_file(PACKAGE, V, &asc, &signature);
    assert!(r.verify_release(&[]).unwrap().status.success());

    // The server's amd64 image tag moved to another image.
    let built = r
        .image_layout()
        .image("lava-server", "amd64")
        .digest
        .clone();
    let squatter = r
        .push_image(
            ImageRegistry::Hub,
            "lavasoftware/amd64-lava-server",
            V,
            "lava-dispatcher",
            "amd64",
        )
        .unwrap();
    let (_, evidence) = failing(&r, &format!("/lavasoftware/amd64-lava-server:{V}"));
    assert_eq!(
        evidence,
        format!("the manifest says {built}, but the registry says {squatter}")
    );

    // bookworm lost the release.
    let bookworm = format!("{V}+12+bookworm");
    r.apt().remove_source("bookworm", "lava", V).unwrap();
    let (_, evidence) = failing(&r, "apt suite bookworm");
    assert!(
        evidence.starts_with(&format!("the manifest says lava {bookworm}, but "))
            && evidence.ends_with("lists no version of it"),
        "{evidence}"
    );

    // Every suite re-signed with another key.
    r.apt().sign_again(&other, V).unwrap();
    let (_, evidence) = failing(&r, "apt suite trixie");
    assert!(
        evidence.contains("dists/trixie/InRelease") && evidence.contains("release key"),
        "{evidence}"
    );

    // The tag now points elsewhere on the public remote.
    let origin = r.sandbox().origin();
    let object = git(&origin, &["rev-parse", &format!("refs/tags/{V}")]);
    git(
        &origin,
        &[
            "-c",
            "user.name=Mallory",
            "-c",
            "user.email=mallory@example.org",
            "tag",
            "-f",
            "-a",
            "-m",
            "moved",
            V,
            &format!("{V}^{{commit}}~1"),
        ],
    );
    let moved = git(&origin, &["rev-parse", &format!("refs/tags/{V}")]);
    let (claim, evidence) = failing(&r, &format!("tag {V} on "));
    assert!(claim.ends_with(&origin.display().to_string()), "{claim}");
    assert_eq!(
        evidence,
        format!(
            "the manifest says tag object {}, but {} has {}",
            object.trim(),
            origin.display(),
            moved.trim()
        )
    );
}
