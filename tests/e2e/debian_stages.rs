//! The Debian stages end to end through the `lava-release` binary: `dev-build` with a
//! builder that fails and one that works, and `debian-upload` of a source package
//! served over HTTP on 127.0.0.1 (signed with the sandbox's release key) into a
//! directory queue and through the real `dput`, checked with `dscverify`.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lava_signing::Signer;
use tests::aptrepo::AptSite;
use tests::http::HttpServer;
use tests::sandbox::{Sandbox, all_text, assert_output_contains};

use crate::support::{planned_stage, run};

const V: &str = "2024.02";
const CHANGES: &str = "lava_2024.02_source.changes";

struct Fixture {
    sb: Sandbox,
    incoming: PathBuf,
    queue: tempfile::TempDir,
    dd_keyring: PathBuf,
    _site: AptSite,
    _server: HttpServer,
    _keys: tempfile::TempDir,
}

fn release_signer(sb: &Sandbox) -> Signer {
    let (secret, public) = sb.release_key();
    tests::keys::signer_from_files(&secret, &public, SystemTime::now()).unwrap()
}

/// A sandbox whose `[debian]` section uploads the source package of `V`, served over
/// HTTP, to a directory queue (or what `upload` says), signed by a fresh Debian
/// Developer key; `extra` is appended to the section.
fn setup(upload: Option<&str>, extra: &str) -> Fixture {
    let mut sb = Sandbox::lava().unwrap();
    let site = AptSite::new().unwrap();
    let incoming = site.upload_signed(V, Some(&release_signer(&sb))).unwrap();
    let server = HttpServer::serve(&incoming).unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = tests::keys::generate(
        "Debbie Developer",
        "dd@debian.example",
        SystemTime::now() - std::time::Duration::from_secs(3600),
    );
    let dd_secret = keys.path().join("dd.key");
    let dd_keyring = keys.path().join("dd.gpg");
    key.write_secret_key(&dd_secret).unwrap();
    std::fs::write(&dd_keyring, key.public_key_binary().unwrap()).unwrap();
    let queue = tempfile::tempdir().unwrap();
    let upload = upload.map_or_else(|| queue.path().display().to_string(), str::to_owned);
    sb.add_config(&format!(
        "[debian]\nupload = {upload:?}\ndsc_url = {url:?}\nsource_version = \"{{version}}\"\nkey = {fpr:?}\nkey_file = {secret:?}\n{extra}",
        url = server.url("lava_{version}.dsc"),
        fpr = key.fingerprint().to_hex(),
        secret = dd_secret.display().to_string(),
    ))
    .unwrap();
    Fixture {
        sb: sb.through_consistency(V).unwrap(),
        incoming,
        queue,
        dd_keyring,
        _site: site,
        _server: server,
        _keys: keys,
    }
}

fn upload(f: &Fixture, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", V, "--only", "debian-upload"];
    args.extend_from_slice(extra);
    run(&f.sb, &args, None)
}

fn dscverify(keyring: &Path, file: &Path) -> String {
    let out = std::process::Command::new("dscverify")
        .args(["--no-conf", "--no-default-keyrings", "--keyring"])
        .arg(keyring)
        .arg(file)
        .output()
        .expect("dscverify runs (devscripts)");
    all_text(&out)
}

fn queue_names(f: &Fixture) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(f.queue.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_upload_is_fetched_checked_signed_and_queued_once() {
    let f = setup(None, "");
    let out = upload(&f, &["--yes"]);
    assert!(out.status.success(), "{}", all_text(&out));
    assert_output_contains(
        &out,
        &format!(
            "uploaded {CHANGES} to {}: 3 file(s) sent",
            f.queue.path().display()
        ),
    );
    assert_eq!(
        queue_names(&f),
        ["lava_2024.02.dsc", "lava_2024.02.tar.xz", CHANGES]
    );
    for file in [CHANGES, "lava_2024.02.dsc"] {
        let verified = dscverify(&f.dd_keyring, &f.queue.path().join(file));
        assert!(
            verified.contains("All files validated successfully"),
            "{file}: {verified}"
        );
    }
    let changes = std::fs::read_to_string(f.queue.path().join(CHANGES)).unwrap();
    for field in [
        "Format: 1.8",
        "Source: lava",
        "Architecture: source",
        "Version: 2024.02",
        "Distribution: unstable",
    ] {
        assert!(
            changes.contains(&format!("\n{field}\n")),
            "{field}: {changes}"
        );
    }
    let before = std::fs::metadata(f.queue.path().join(CHANGES))
        .unwrap()
        .modified()
        .unwrap();

    // A re-run sees the upload in the queue and sends nothing.
    let again = upload(&f, &["--yes"]);
    assert!(again.status.success(), "{}", all_text(&again));
    assert_output_contains(&again, "0 stage(s) applied, 1 already done");
    let after = std::fs::metadata(f.queue.path().join(CHANGES))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

#[test]
fn a_tampered_source_file_is_refused_and_nothing_is_queued() {
    let f = setup(None, "");
    let tarball = f.incoming.join("lava_2024.02.tar.xz");
    let mut bytes = std::fs::read(&tarball).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&tarball, bytes).unwrap();
    let out = upload(&f, &["--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last_line = stderr.lines().last().unwrap_or_default();
    assert!(
        last_line.contains("`lava_2024.02.tar.xz` has SHA256")
            && last_line.contains("the file was altered or corrupted"),
        "{stderr}"
    );
    assert!(queue_names(&f).is_empty());
}

#[test]
fn a_source_signed_by_another_key_is_refused() {
    let f = setup(None, "");
    let dsc = f.incoming.join("lava_2024.02.dsc");
    let text_only = lava_debian::strip_cleartext(&std::fs::read(&dsc).unwrap());
    let stranger = tests::keys::generate(
        "Mallory",
        "mallory@example.invalid",
        SystemTime::now() - std::time::Duration::from_secs(60),
    );
    let dir = tempfile::tempdir().unwrap();
    let signer = tests::keys::signer(
        &stranger,
        &dir.path().join("mallory.key"),
        SystemTime::now(),
    );
    std::fs::write(&dsc, signer.sign_cleartext(&text_only).unwrap()).unwrap();
    let out = upload(&f, &["--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    assert_output_contains(
        &out,
        "the signature of `lava_2024.02.dsc` does not verify against the expected keyring",
    );
    assert!(queue_names(&f).is_empty());
}

#[test]
fn an_unsigned_source_is_refused_and_nothing_is_fetched_beside_it() {
    let f = setup(None, "");
    let dsc = f.incoming.join("lava_2024.02.dsc");
    let text_only = lava_debian::strip_cleartext(&std::fs::read(&dsc).unwrap());
    std::fs::write(&dsc, text_only).unwrap();
    let out = upload(&f, &["--yes"]);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = crate::support::error_line(&out);
    assert!(
        line.starts_with("lava-release: stage `debian-upload` failed: ")
            && line.contains(
                "`lava_2024.02.dsc` is not signed; fetch a signed .dsc or allow unsigned sources explicitly"
            ),
        "{stderr}"
    );
    assert!(queue_names(&f).is_empty());
    // The source's files were never fetched: the signature is checked first.
    let fetched =
        f.sb.repo()
            .join(".git/lava-release/debian")
            .join(V)
            .join("fetched");
    let names: Vec<_> = std::fs::read_dir(&fetched)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn a_freeze_blocks_the_upload_unless_yes_is_given() {
    let f = setup(
        None,
        "\n[[debian.freeze]]\ndistribution = \"unstable\"\nfrom = \"2020-01-01\"\nname = \"test freeze\"\n",
    );
    let out = run(&f.sb, &["plan", V], None);
    assert_output_contains(
        &out,
        "unstable is frozen (test freeze, from 2020-01-01 until further notice); pass --yes to upload anyway",
    );
    // Without --yes, even an interactive confirmation is not enough: it stops before
    // the first stage, as everything that can be seen wrong up front does.
    let out = upload(&f, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", all_text(&out));
    assert_output_contains(&out, "lava-release: unstable is frozen (test freeze");
    assert!(queue_names(&f).is_empty());
    let out = upload(&f, &["--yes"]);
    assert!(out.status.success(), "{}", all_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning: unstable is frozen"),
        "{}",
        all_text(&out)
    );
    assert_eq!(queue_names(&f).len(), 3);
}

#[test]
fn dput_simulates_then_uploads_and_records_it() {
    let dput_dir = tempfile::tempdir().unwrap();
    let incoming = dput_dir.path().join("incoming");
    std::fs::create_dir_all(&incoming).unwrap();
    let dput_cf = dput_dir.path().join("dput.cf");
    std::fs::write(
        &dput_cf,
        format!(
            "[DEFAULT]\n\n[rehearsal]\nmethod = local\nincoming = {}\nallow_unsigned_uploads = 0\nrun_lintian = 0\n",
            incoming.display()
        ),
    )
    .unwrap();
    let f = setup(
        Some("dput:rehearsal"),
        &format!("dput_config = {:?}\n", dput_cf.display().to_string()),
    );
    let out = upload(&f, &["--simulate"]);
    assert!(out.status.success(), "{}", all_text(&out));
    assert_output_contains(&out, "simulated upload of");
    assert_eq!(std::fs::read_dir(&incoming).unwrap().count(), 0);

    let out = upload(&f, &["--yes"]);
    assert!(out.status.success(), "{}", all_text(&out));
    let mut names: Vec<String> = std::fs::read_dir(&incoming)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["lava_2024.02.dsc", "lava_2024.02.tar.xz", CHANGES]);
    let verified = dscverify(&f.dd_keyring, &incoming.join(CHANGES));
    assert!(
        verified.contains("All files validated successfully"),
        "{verified}"
    );

    // dput's log says it is done: a re-run does not call dput again.
    let again = upload(&f, &["--yes"]);
    assert_output_contains(&again, "0 stage(s) applied, 1 already done");
}

#[test]
fn a_failing_dev_build_shows_its_last_lines_and_a_fixed_one_is_recorded() {
    let mut sb = Sandbox::lava().unwrap();
    sb.add_config(
        "[debian]\ndev_build = true\nbuilder = \"echo building {tag}; echo 'E: Unmet build dependencies: python3-voluptuous' >&2; exit 3\"\n",
    )
    .unwrap();
    let to_build = [
        "run",
        V,
        "--yes",
        "--from",
        "changelog",
        "--to",
        "dev-build",
    ];
    let out = run(&sb, &to_build, None);
    assert_eq!(out.status.code(), Some(1), "{}", all_text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("| building 2024.02"), "streamed: {stderr}");
    assert!(
        stderr.contains("the build `echo building 2024.02;")
            && stderr.contains("exit status: 3")
            && stderr.contains("E: Unmet build dependencies: python3-voluptuous"),
        "{stderr}"
    );
    let log = sb.repo().join(".git/lava-release/2024.02-dev-build.log");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "building 2024.02\nE: Unmet build dependencies: python3-voluptuous\n"
    );

    sb.replace_section(
        "debian",
        "[debian]\ndev_build = true\nbuilder = \"test \\\"$LAVA_RELEASE_TAG\\\" = {tag} && git describe --exact-match HEAD\"\n",
    )
    .unwrap();
    let out = run(&sb, &to_build, None);
    assert!(out.status.success(), "{}", all_text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("| 2024.02"),
        "{}",
        all_text(&out)
    );
    let again = run(&sb, &["run", V, "--yes", "--only", "dev-build"], None);
    assert_output_contains(&again, "0 stage(s) applied, 1 already done");
}

#[test]
fn the_dev_build_runs_lavas_script_into_the_scratch_space_and_gbp_is_checked_first() {
    // The stand-in answers the plan's GitLab reads at once.
    let mut sb = Sandbox::lava().unwrap().with_gitlab(V).unwrap();
    // LAVA's script, as the default builder calls it: `-o DIR -s SUITE`.
    let script = sb.repo().join("share/debian-dev-build.sh");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(
        &script,
        "#!/bin/sh\nwhile getopts o:s: opt; do case $opt in o) DIR=$OPTARG;; s) SUITE=$OPTARG;; esac; done\necho \"built for $SUITE\" > \"$DIR/lava_$LAVA_RELEASE_VERSION.changes\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    sb.git(&["add", "share/debian-dev-build.sh"], None).unwrap();
    sb.git(
        &["commit", "-q", "-m", "Add the developer build script"],
        None,
    )
    .unwrap();
    sb.add_config("[debian]\ndev_build = true\ndev_build_suite = \"trixie\"\n")
        .unwrap();
    let out = run(
        &sb,
        &[
            "run",
            V,
            "--yes",
            "--from",
            "changelog",
            "--to",
            "dev-build",
        ],
        None,
    );
    assert!(out.status.success(), "{}", all_text(&out));
    assert_eq!(
        std::fs::read_to_string(
            sb.repo()
                .join(".git/lava-release/2024.02-dev-build/lava_2024.02.changes")
        )
        .unwrap(),
        "built for trixie\n"
    );

    // A gbp builder on LAVA's DEP-14 gbp.conf is stopped before it runs, in one sentence.
    let gbp_conf = sb.repo().join("debian/gbp.conf");
    std::fs::write(
        &gbp_conf,
        "[DEFAULT]\ndebian-branch = debian/main\npristine-tar = True\nupstream-branch = upstream\n",
    )
    .unwrap();
    sb.replace_section(
        "debian",
        "[debian]\ndev_build = true\nbuilder = \"gbp buildpackage --git-builder=true\"\n",
    )
    .unwrap();
    let stage = planned_stage(&sb, V, "dev-build");
    assert_eq!(stage["status"], "blocked", "{stage}");
    assert_eq!(
        stage["reason"],
        format!(
            "gbp buildpackage would refuse to build: debian-branch is `debian/main` ({}) but HEAD is on `master`; add --git-ignore-branch to debian.builder or use LAVA's ./share/debian-dev-build.sh",
            gbp_conf.display()
        )
    );
    sb.replace_section(
        "debian",
        "[debian]\ndev_build = true\nbuilder = \"gbp buildpackage --git-ignore-branch\"\n",
    )
    .unwrap();
    let stage = planned_stage(&sb, V, "dev-build");
    let reason = stage["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!(
            "gbp buildpackage would fail: pristine-tar is on ({}) but ",
            gbp_conf.display()
        )) && reason.ends_with(
            "has no pristine-tar branch; fetch it or pass --git-no-pristine-tar in debian.builder"
        ),
        "{reason}"
    );

    // gbp.conf's own ignore-branch and builder are read as gbp reads them.
    std::fs::write(
        &gbp_conf,
        "[DEFAULT]\ndebian-branch = debian/main\n[buildpackage]\nignore-branch = True\nbuilder = sbuild -s\n",
    )
    .unwrap();
    sb.replace_section(
        "debian",
        "[debian]\ndev_build = true\nbuilder = \"gbp buildpackage\"\n",
    )
    .unwrap();
    // Not blocked: done as built before; with its stamp gone, to do with gbp's builder.
    assert_eq!(planned_stage(&sb, V, "dev-build")["status"], "done");
    std::fs::remove_file(sb.repo().join(".git/lava-release/2024.02-dev-build.ok")).unwrap();
    let stage = planned_stage(&sb, V, "dev-build");
    assert_eq!(stage["status"], "to-do", "{stage}");
    assert_eq!(
        stage["detail"],
        format!(
            "gbp builds with `sbuild -s` (builder in {})",
            gbp_conf.display()
        )
    );
}
