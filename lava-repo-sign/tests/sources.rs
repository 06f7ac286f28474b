//! `find_source` against a real reprepro repository signed with a key made in the
//! test and served over HTTP on 127.0.0.1: found through the verified `InRelease` and
//! the `Sources` index; refused with another key, a tampered index or a missing version.
#![allow(clippy::unwrap_used)]

mod common;

use lava_repo_sign::{Error, SourceQuery, find_source};
use sha2::{Digest as _, Sha256};
use tests::http::HttpServer;

use common::*;

const V: &str = "2024.01";

fn signed_fixture() -> Fixture {
    let f = Fixture::new(&[V]);
    f.sign_all(&f.local_site().current()).unwrap();
    f
}

fn query<'a>(base: &'a str, version: &'a str) -> SourceQuery<'a> {
    SourceQuery {
        base,
        suite: "bookworm",
        component: "main",
        package: "lava",
        version,
    }
}

#[test]
fn the_dsc_is_found_through_the_signed_index() {
    let f = signed_fixture();
    let server = HttpServer::serve(f.site.root()).unwrap();
    let base = server.url("current-release");
    let found = find_source(&query(&base, V), &f.keyring, f.now()).unwrap();
    assert_eq!(
        found.dsc_url,
        format!("{base}/pool/main/l/lava/lava_{V}.dsc")
    );
    let dsc = std::fs::read(f.site.base().join(format!("pool/main/l/lava/lava_{V}.dsc"))).unwrap();
    assert_eq!(found.dsc_size, dsc.len() as u64);
    let sha: String = Sha256::digest(&dsc)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(found.dsc_sha256, sha);
    assert!(
        found
            .index_url
            .ends_with("/dists/bookworm/main/source/Sources.gz")
    );

    let missing = find_source(&query(&base, "2099.01"), &f.keyring, f.now()).unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!(
            "cannot find the source package through {base}/dists/bookworm/main/source/Sources.gz: it has lava 2024.01 but not 2099.01"
        )
    );
}

#[test]
fn another_key_or_a_tampered_index_is_refused() {
    let f = signed_fixture();
    let server = HttpServer::serve(f.site.root()).unwrap();
    let base = server.url("current-release");

    let stranger = Fixture::new(&[]);
    let err = find_source(&query(&base, V), &stranger.keyring, f.now()).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("{base}/dists/bookworm/InRelease: it does not verify with the release key")
    );

    // The index is replaced (not edited in place: reprepro's pool is hard-linked).
    let index = f.suite_dir("bookworm").join("main/source/Sources.gz");
    let mut bytes = std::fs::read(&index).unwrap();
    bytes.extend_from_slice(b"tampered");
    std::fs::remove_file(&index).unwrap();
    std::fs::write(&index, bytes).unwrap();
    let err = find_source(&query(&base, V), &f.keyring, f.now()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "cannot find the source package through {base}/dists/bookworm/main/source/Sources.gz: it does not match the signed Release"
        )),
        "{message}"
    );
}
