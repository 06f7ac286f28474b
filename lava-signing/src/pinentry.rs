//! Where gpg-agent's pinentry appears: the session a client tells the agent about, as
//! `gpg` does (GnuPG's `send_pinentry_environment`: `OPTION ttyname=`, `ttytype=`,
//! `display=`, `xauthority=`, `lc-ctype=`, `lc-messages=`, `pinentry-user-data=` and
//! `putenv=NAME=VALUE` for the other session variables a pinentry reads).

/// The session variables gpg passes on, with the agent option each has, if any
/// (GnuPG's `common/session-env.c` list).
const SESSION_VARS: [(&str, Option<&str>); 14] = [
    ("GPG_TTY", Some("ttyname")),
    ("TERM", Some("ttytype")),
    ("DISPLAY", Some("display")),
    ("XAUTHORITY", Some("xauthority")),
    ("XMODIFIERS", None),
    ("GTK_IM_MODULE", None),
    ("DBUS_SESSION_BUS_ADDRESS", None),
    ("QT_IM_MODULE", None),
    ("INSIDE_EMACS", None),
    ("PINENTRY_USER_DATA", Some("pinentry-user-data")),
    ("WAYLAND_DISPLAY", None),
    ("XDG_SESSION_TYPE", None),
    ("QT_QPA_PLATFORM", None),
    ("PINENTRY_GEOM_HINT", None),
];

/// The session gpg-agent's pinentry should appear in: the `OPTION` lines sent before
/// each signature. Empty, the agent uses the terminal and display it started with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PinentrySession {
    options: Vec<String>,
}

impl PinentrySession {
    /// The session described by the variables `var` looks up (this crate reads no
    /// environment itself) and `tty`, the terminal standard input is, used when
    /// `GPG_TTY` is unset (as gpg falls back to `ttyname(0)`).
    pub fn from_vars<'a>(var: impl Fn(&str) -> Option<&'a str>, tty: Option<&str>) -> Self {
        let mut options = Vec::new();
        for (name, option) in SESSION_VARS {
            let value = var(name).or_else(|| (name == "GPG_TTY").then_some(tty).flatten());
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            options.push(match option {
                Some(option) => format!("{option}={value}"),
                None => format!("putenv={name}={value}"),
            });
        }
        // The locale pinentry speaks in, as setlocale would resolve it.
        for (option, category) in [("lc-ctype", "LC_CTYPE"), ("lc-messages", "LC_MESSAGES")] {
            if let Some(value) = ["LC_ALL", category, "LANG"]
                .into_iter()
                .find_map(|name| var(name).filter(|v| !v.is_empty()))
            {
                options.push(format!("{option}={value}"));
            }
        }
        PinentrySession { options }
    }

    /// The `OPTION` arguments, in the order they are sent.
    pub fn options(&self) -> &[String] {
        &self.options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_options_are_gpgs_for_the_session_variables_that_are_set() {
        let vars = [
            ("TERM", "xterm-256color"),
            ("WAYLAND_DISPLAY", "wayland-0"),
            ("DISPLAY", ""),
            ("LANG", "de_DE.UTF-8"),
            ("LC_MESSAGES", "C"),
            ("HOME", "/home/rm"),
        ];
        let lookup = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        let session = PinentrySession::from_vars(lookup, Some("/dev/pts/4"));
        assert_eq!(
            session.options(),
            [
                "ttyname=/dev/pts/4",
                "ttytype=xterm-256color",
                "putenv=WAYLAND_DISPLAY=wayland-0",
                "lc-ctype=de_DE.UTF-8",
                "lc-messages=C",
            ]
        );
        let with_gpg_tty = |name: &str| (name == "GPG_TTY").then_some("/dev/pts/9");
        assert_eq!(
            PinentrySession::from_vars(with_gpg_tty, Some("/dev/pts/4")).options(),
            ["ttyname=/dev/pts/9"]
        );
        assert!(
            PinentrySession::from_vars(|_| None, None)
                .options()
                .is_empty()
        );
    }
}
