//! End-to-end tests: the `lava-release` binary against real tools.
