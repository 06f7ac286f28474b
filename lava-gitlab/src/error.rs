use std::path::PathBuf;

use thiserror::Error;

use crate::ci::CiOutcome;

/// Errors of this crate.
///
/// Every message is one sentence naming the call, the URL or the file, and what to do;
/// none of them holds the token (it only ever travels in a request header).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The configured base URL does not parse or cannot carry the API path.
    #[error(
        "the GitLab base URL `{url}` is not valid; give an http(s) URL such as https://gitlab.com"
    )]
    BaseUrl {
        /// The URL as configured.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// A URL handed in to download does not parse.
    #[error("`{url}` is not a valid URL to download from")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// reqwest could not build its client (TLS backend initialisation).
    #[error("could not set up the HTTP client for GitLab at {url}")]
    HttpClient {
        /// The base URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// A request handed in through the `gitlab` crate's `Client` trait is malformed.
    #[error("the request to {url} built by the gitlab crate is malformed")]
    InvalidRequest {
        /// The URL, when known.
        url: String,
        /// The cause.
        #[source]
        source: http::Error,
    },
    /// The connection failed, dropped or timed out on every attempt.
    #[error(
        "could not reach GitLab to {call} at {url} after {attempts} attempts; check the network and the base URL, then run again"
    )]
    Transport {
        /// What was being asked.
        call: String,
        /// The URL (never holds the token).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error.
        #[source]
        source: reqwest::Error,
    },
    /// GitLab answered 429 or 5xx on every attempt.
    #[error(
        "GitLab kept answering {status} to {call} at {url} after {attempts} attempts; the server is busy, try again later"
    )]
    Exhausted {
        /// What was being asked.
        call: String,
        /// The URL.
        url: String,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// GitLab asked to wait longer than the retry policy allows.
    #[error(
        "GitLab rate-limits {call} at {url} and asks to wait {wait_secs}s, more than the {max_secs}s allowed; try again later"
    )]
    RateLimited {
        /// What was being asked.
        call: String,
        /// The URL.
        url: String,
        /// The Retry-After asked for.
        wait_secs: u64,
        /// The policy's bound.
        max_secs: u64,
    },
    /// 401 to a request sent without a token: this needs one.
    #[error(
        "GitLab needs a token to {call} at {url} (401 Unauthorized): pass one with the `{scope}` scope in GITLAB_TOKEN or the token file"
    )]
    TokenNeeded {
        /// What was being asked.
        call: String,
        /// The URL.
        url: String,
        /// The scope the call needs.
        scope: &'static str,
    },
    /// 401: the token is unknown, expired or revoked.
    #[error(
        "GitLab rejected the token when asked to {call} at {url} (401 Unauthorized); it is unknown, expired or revoked: create a token with the `{scope}` scope and pass it in GITLAB_TOKEN or the token file"
    )]
    Unauthorized {
        /// What was being asked.
        call: String,
        /// The URL.
        url: String,
        /// The scope the call needs.
        scope: &'static str,
    },
    /// 403: the token is valid but may not do this.
    #[error(
        "GitLab refused to {call} on project `{project}` at {url} (403 Forbidden); the token needs the `{scope}` scope and a role on the project that allows it"
    )]
    Forbidden {
        /// What was being asked.
        call: String,
        /// The project.
        project: String,
        /// The URL.
        url: String,
        /// The scope the call needs.
        scope: &'static str,
    },
    /// 404: the project, ref, job, milestone or release does not exist (or is invisible to the token).
    #[error(
        "could not {call}: {missing} not found at {url} (GitLab said \"{message}\"); check {hint}"
    )]
    NotFound {
        /// What was being asked.
        call: String,
        /// What is missing, e.g. "project `lava/lava`".
        missing: String,
        /// The URL.
        url: String,
        /// GitLab's message.
        message: String,
        /// What to check.
        hint: String,
    },
    /// Any other non-success status.
    #[error("GitLab answered {status} when asked to {call} at {url}: {message}")]
    Api {
        /// What was being asked.
        call: String,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// GitLab's message or the start of the body.
        message: String,
    },
    /// A host other than GitLab (where a release link or a redirect led) answered an error.
    #[error("could not {call} from {url}: {host} answered {status} ({message}); check the URL")]
    Elsewhere {
        /// What was being asked.
        call: String,
        /// The URL asked for (not the redirect's, which may be signed).
        url: String,
        /// The host that answered.
        host: String,
        /// The status.
        status: u16,
        /// The start of the body.
        message: String,
    },
    /// A download was redirected more times than allowed.
    #[error("could not {call} from {url}: redirected more than {max} times; check the URL")]
    Redirects {
        /// What was being asked.
        call: String,
        /// The URL asked for.
        url: String,
        /// The bound.
        max: u32,
    },
    /// The release already links the URL under another name; GitLab keeps URLs unique
    /// in a release.
    #[error(
        "release `{tag}` already links {url} as `{taken_by}`, so it cannot also be `{name}`; rename or delete that link on the release page"
    )]
    LinkUrlTaken {
        /// The release's tag.
        tag: String,
        /// The URL.
        url: String,
        /// The name wanted.
        name: String,
        /// The name of the link that has the URL.
        taken_by: String,
    },
    /// The answer was not the JSON expected.
    #[error(
        "GitLab's answer to {call} at {url} is not the JSON expected; is the base URL a GitLab instance?"
    )]
    Decode {
        /// What was being asked.
        call: String,
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The pipeline did not succeed (failed, canceled, skipped, manual or timed out).
    #[error("{0}")]
    Ci(Box<CiOutcome>),
    /// A list came back shorter than the total GitLab announced, twice.
    #[error(
        "GitLab listed {got} of the {total} items it announced (x-total) when asked to {call} at {url}, twice; a page was lost on the way, run again"
    )]
    ShortList {
        /// What was being asked.
        call: String,
        /// The list's URL.
        url: String,
        /// Items read.
        got: u64,
        /// Items announced.
        total: u64,
    },
    /// No pipeline for the tag or commit.
    #[error(
        "no pipeline found for {target} in project `{project}`; push it, or check the tag name"
    )]
    NoPipeline {
        /// The tag or commit.
        target: String,
        /// The project.
        project: String,
    },
    /// The milestone titled as the version does not exist.
    #[error("milestone `{title}` not found in project `{project}`; create it or check the version")]
    MilestoneNotFound {
        /// The title looked for.
        title: String,
        /// The project.
        project: String,
    },
    /// The milestone still has open merge requests or issues.
    #[error(
        "milestone `{title}` still has {mrs} open merge request(s) and {issues} open issue(s): {list}; merge, close or move them, or pass --allow-open"
    )]
    MilestoneOpen {
        /// The milestone.
        title: String,
        /// Count of open merge requests.
        mrs: usize,
        /// Count of open issues.
        issues: usize,
        /// The first few, as `title <web_url>`.
        list: String,
    },
    /// The job to take artifacts from is not in the pipeline.
    #[error("no job named `{job}` in pipeline {pipeline_url}; jobs there: {available}")]
    JobNotFound {
        /// The job name.
        job: String,
        /// The pipeline's web URL.
        pipeline_url: String,
        /// Names of the jobs present.
        available: String,
    },
    /// The job exists but did not succeed, so it has no trustworthy artifacts.
    #[error("job `{job}` ({web_url}) is {status}, not success; its artifacts are not used")]
    JobNotSuccessful {
        /// The job name.
        job: String,
        /// The job's web URL.
        web_url: String,
        /// Its status.
        status: String,
    },
    /// A local file could not be written or read.
    #[error("could not {action} {path}")]
    File {
        /// What was being done ("write", "read", "create directory").
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be replaced atomically (the error names it).
    #[error(transparent)]
    Replace(#[from] lava_io::Error),
    /// The download stopped short or could not be streamed.
    #[error("the artifacts download from {url} to {path} broke off; run again")]
    Download {
        /// The URL.
        url: String,
        /// The destination.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The downloaded archive is not a readable zip.
    #[error("the artifacts archive {path} is not a readable zip")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// The cause.
        #[source]
        source: zip::result::ZipError,
    },
    /// The archive holds no `.changes` file.
    #[error(
        "the artifacts archive {path} holds no .changes file; is `{job}` the Debian build job?"
    )]
    NoChanges {
        /// The archive.
        path: PathBuf,
        /// The job.
        job: String,
    },
    /// A member name would escape the destination directory.
    #[error(
        "the artifacts archive {path} holds an unsafe member name `{name}`; refusing to extract it"
    )]
    UnsafeMember {
        /// The archive.
        path: PathBuf,
        /// The member name.
        name: String,
    },
    /// The `.changes` file does not parse as deb822 or lacks its file lists.
    #[error("{path} is not a valid .changes file: {message}")]
    Changes {
        /// The .changes file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file listed in the `.changes` is not in the archive.
    #[error("{changes} lists `{file}`, which the artifacts archive {archive} does not hold")]
    MissingListed {
        /// The .changes file.
        changes: PathBuf,
        /// The listed file.
        file: String,
        /// The archive.
        archive: PathBuf,
    },
    /// A listed file's size differs from the `.changes`.
    #[error(
        "{path} is {actual} bytes but {changes} says {expected}; the artifacts are damaged, download them again"
    )]
    SizeMismatch {
        /// The extracted file.
        path: PathBuf,
        /// The .changes file.
        changes: PathBuf,
        /// Size in the .changes.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// A listed file's checksum differs from the `.changes`.
    #[error(
        "{path} has {algorithm} {actual} but {changes} says {expected}; the artifacts are damaged or tampered with"
    )]
    ChecksumMismatch {
        /// The extracted file.
        path: PathBuf,
        /// The .changes file.
        changes: PathBuf,
        /// "SHA-256" or "MD5".
        algorithm: &'static str,
        /// Checksum in the .changes.
        expected: String,
        /// Checksum on disk.
        actual: String,
    },
    /// The registry tag pattern is not a valid glob.
    #[error("`{pattern}` is not a valid tag pattern; use a glob such as `2024.*-daily`")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// The cause.
        #[source]
        source: glob::PatternError,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
