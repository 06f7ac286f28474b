//! Fixtures and stand-ins shared by the end-to-end tests and `cargo xtask rehearse`.
