//! The registry HTTP API (distribution spec v2), in three parts: the session with
//! each registry (authentication and the retried request), blobs (mounts and streamed
//! copies checked against their digest) and manifests (by digest and by tag).

mod blobs;
mod manifests;
mod session;

pub(crate) use session::Client;
