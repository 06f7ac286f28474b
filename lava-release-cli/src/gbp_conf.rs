//! git-buildpackage's configuration, read as `gbp dch` reads it, for the options
//! lava-release shares with it.
//!
//! gbp reads, in this order and each overriding the one before, the files
//! `/etc/git-buildpackage/gbp.conf`, `~/.gbp.conf`, `.gbp.conf` and `debian/gbp.conf`
//! at the top of the working tree, and `gbp.conf` in the git directory, or the
//! colon-separated list in `GBP_CONF_FILES` instead. In each file the command's own
//! section (`[dch]`, `[buildpackage]`) overrides `[DEFAULT]`. `release.toml` overrides
//! them all.

use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::UsageError;

/// The values of the gbp options lava-release shares, each with the file it came from.
#[derive(Debug, Clone, Default)]
pub struct GbpConf {
    values: Vec<(String, String, PathBuf)>,
}

impl GbpConf {
    /// The files gbp would read for a repository, in increasing precedence.
    pub fn files(workdir: &Path, git_dir: &Path, env: &Env) -> Vec<PathBuf> {
        if let Some(list) = env.var("GBP_CONF_FILES") {
            return list
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect();
        }
        let mut files = vec![PathBuf::from("/etc/git-buildpackage/gbp.conf")];
        if let Some(home) = env.var("HOME") {
            files.push(Path::new(home).join(".gbp.conf"));
        }
        files.push(workdir.join(".gbp.conf"));
        files.push(workdir.join("debian/gbp.conf"));
        files.push(git_dir.join("gbp.conf"));
        files
    }

    /// Reads the `[DEFAULT]` and `[COMMAND]` sections (`command` is `dch`,
    /// `buildpackage`, ...) of those of `files` that exist. A file that exists but
    /// cannot be parsed is an error naming it, as gbp stops on it.
    pub fn read(files: &[PathBuf], command: &str) -> Result<Self, UsageError> {
        let mut conf = Self::default();
        for file in files.iter().filter(|f| f.is_file()) {
            let mut ini = configparser::ini::Ini::new();
            ini.load(file).map_err(|e| {
                UsageError(format!(
                    "git-buildpackage configuration {} cannot be read: {e}",
                    file.display()
                ))
            })?;
            for section in ["default", command] {
                let Some(keys) = ini.get_map_ref().get(section) else {
                    continue;
                };
                for (key, value) in keys {
                    if let Some(value) = value {
                        conf.values.retain(|(k, _, _)| k != key);
                        conf.values
                            .push((key.clone(), value.trim().to_owned(), file.clone()));
                    }
                }
            }
        }
        Ok(conf)
    }

    /// The value of option `key` (gbp's spelling, e.g. `multimaint-merge`) and its file.
    pub fn get(&self, key: &str) -> Option<(&str, &Path)> {
        self.values
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, f)| (v.as_str(), f.as_path()))
    }

    /// A boolean option, read as gbp reads one (`gbp/config.py`): `true`, `1`, `false`
    /// or `0` in any case, a ` # comment` after it dropped; anything else gbp refuses,
    /// and so does this.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, UsageError> {
        let Some((value, file)) = self.get(key) else {
            return Ok(None);
        };
        let mut parts = value.splitn(3, ' ');
        let word = match (parts.next(), parts.next()) {
            (Some(word), Some("#")) => word,
            _ => value,
        };
        match word.to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => Err(UsageError(format!(
                "{}: `{key} = {value}` is not a boolean; gbp takes True or False",
                file.display()
            ))),
        }
    }

    /// A whole-number option.
    pub fn number(&self, key: &str) -> Result<Option<usize>, UsageError> {
        let Some((value, file)) = self.get(key) else {
            return Ok(None);
        };
        value.parse().map(Some).map_err(|_| {
            UsageError(format!(
                "{}: `{key} = {value}` is not a whole number",
                file.display()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn later_files_and_the_dch_section_win() {
        let dir = tempfile::tempdir().unwrap();
        let home = write(
            dir.path(),
            "home.conf",
            "[DEFAULT]\nmultimaint-merge = True\nid-length = 7\n[buildpackage]\nid-length = 3\n",
        );
        let project = write(
            dir.path(),
            "project.conf",
            "# LAVA's debian/gbp.conf\n[DEFAULT]\ndebian-branch = debian/main\n\n[dch]\nid-length: 9\n",
        );
        let missing = dir.path().join("missing.conf");
        let conf = GbpConf::read(&[home.clone(), missing, project.clone()], "dch").unwrap();
        assert_eq!(conf.bool("multimaint-merge").unwrap(), Some(true));
        assert_eq!(conf.number("id-length").unwrap(), Some(9));
        assert_eq!(conf.get("id-length").unwrap().1, project);
        assert_eq!(conf.get("debian-branch").unwrap().0, "debian/main");
        assert_eq!(conf.bool("meta").unwrap(), None);

        let overridden = GbpConf::read(&[project, home], "dch").unwrap();
        assert_eq!(overridden.number("id-length").unwrap(), Some(7));
    }

    #[test]
    fn booleans_are_what_gbp_takes() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "gbp.conf",
            "[dch]\nmeta = FALSE\nfull = 1 # always\ngit-author = yes\n",
        );
        let conf = GbpConf::read(std::slice::from_ref(&file), "dch").unwrap();
        assert_eq!(conf.bool("meta").unwrap(), Some(false));
        assert_eq!(conf.bool("full").unwrap(), Some(true));
        // gbp raises "Boolean options must be True or False" on `yes`.
        assert!(conf.bool("git-author").is_err());
    }

    #[test]
    fn a_bad_value_names_the_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "gbp.conf", "[dch]\nmultimaint-merge = maybe\n");
        let err = GbpConf::read(std::slice::from_ref(&file), "dch")
            .unwrap()
            .bool("multimaint-merge")
            .unwrap_err();
        assert_eq!(
            err.0,
            format!(
                "{}: `multimaint-merge = maybe` is not a boolean; gbp takes True or False",
                file.display()
            )
        );
    }

    #[test]
    fn gbp_conf_files_replaces_the_list() {
        let env = Env::with_vars([("GBP_CONF_FILES", "/a.conf:/b.conf"), ("HOME", "/h")]);
        assert_eq!(
            GbpConf::files(Path::new("/w"), Path::new("/w/.git"), &env),
            [PathBuf::from("/a.conf"), PathBuf::from("/b.conf")]
        );
        let env = Env::with_vars([("HOME", "/h")]);
        assert_eq!(
            GbpConf::files(Path::new("/w"), Path::new("/w/.git"), &env),
            [
                "/etc/git-buildpackage/gbp.conf",
                "/h/.gbp.conf",
                "/w/.gbp.conf",
                "/w/debian/gbp.conf",
                "/w/.git/gbp.conf"
            ]
            .map(PathBuf::from)
        );
    }
}
