//! The release as a plan of stages.
