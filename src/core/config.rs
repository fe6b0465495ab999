//! Configuration comes only from the environment (wrangler secrets and vars, `.dev.vars`
//! locally). Every problem names the variable, so `/health` and error bodies can say
//! exactly what to fix without ever echoing a value.

use crate::core::crypto::Key;
use crate::core::keyring::Keyring;
use crate::core::secret::SpotifyClientSecret;

pub const DEFAULT_ACCOUNTS_BASE: &str = "https://accounts.spotify.com";
pub const DEFAULT_API_BASE: &str = "https://api.spotify.com";
/// An approval must come at least this long after the consent page appeared. Double-
/// clickjacking swaps our page in under the second click of a double-click a few tens of
/// milliseconds after it appears; a person reading the page takes far longer.
pub const CONSENT_MIN_DWELL_MS: u64 = 1000;
/// A person signs in a few clients a day; a script driving the sign-in flow stops here.
pub const DEFAULT_SIGN_INS_PER_DAY: u32 = 10;
/// Three clients refreshing hourly all day (an access token lasts an hour).
pub const DEFAULT_REFRESHES_PER_DAY: u32 = 72;

/// Reads one variable; implemented over `worker::Env` and over a map in tests.
pub trait EnvSource {
    fn var(&self, name: &str) -> Option<String>;
}

impl EnvSource for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// The operator's own Spotify app (a confidential client): optional since people may
/// bring their own apps.
#[derive(Debug, Clone)]
pub struct OperatorApp {
    pub client_id: String,
    pub client_secret: SpotifyClientSecret,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `SPOTIFY_CLIENT_ID` and `SPOTIFY_CLIENT_SECRET`, when both are set.
    pub operator_app: Option<OperatorApp>,
    /// `USER_SPOTIFY_APPS` (`allowed`, the default, or `off`): may people sign in with
    /// their own Spotify app? Spotify's Development Mode allows 5 users per app and one
    /// quota per developer account, so this is how a deployment serves more people.
    pub user_apps: bool,
    /// `TOKEN_ENCRYPTION_KEY`, with `TOKEN_ENCRYPTION_KEY_PREVIOUS` during a rollover and
    /// `TOKEN_IDENTITY_KEY` after the first one: see [`Keyring`].
    pub master_key: Keyring,
    pub redirect_uri: Option<String>,
    pub accounts_base: String,
    pub api_base: String,
    /// `ALLOWED_SPOTIFY_USERS`: when set, only these Spotify user ids may sign in.
    pub allowed_users: Option<Vec<String>>,
    /// Fair use of the KV write budget, per user and UTC day (`SIGN_INS_PER_DAY`,
    /// `REFRESHES_PER_DAY`): each sign-in costs 5 writes, each refresh of ours 5 and a delete.
    pub sign_ins_per_day: u32,
    pub refreshes_per_day: u32,
    /// `LOCAL_BENCHMARK=on`, honoured only by a Worker on loopback (`wrangler dev`): a scripted
    /// client that signs in and then calls as fast as it can (`../shared/perf`) is not held
    /// back by the consent page's dwell or the fair-use limits. A deployed Worker ignores it.
    pub local_benchmark: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub variable: &'static str,
    pub problem: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.variable, self.problem)
    }
}

fn non_empty(env: &dyn EnvSource, name: &str) -> Option<String> {
    env.var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// A positive whole number, or `default` when unset.
fn count(env: &dyn EnvSource, name: &'static str, default: u32, problems: &mut Vec<ConfigProblem>) -> u32 {
    match non_empty(env, name).map(|v| v.parse::<u32>()) {
        None => default,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            problems.push(ConfigProblem {
                variable: name,
                problem: format!("must be a whole number above 0 (default {default})"),
            });
            default
        }
    }
}

fn base_url(env: &dyn EnvSource, name: &'static str, default: &str, problems: &mut Vec<ConfigProblem>) -> String {
    let value = non_empty(env, name).unwrap_or_else(|| default.to_string());
    match url::Url::parse(&value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            value.trim_end_matches('/').to_string()
        }
        _ => {
            problems.push(ConfigProblem { variable: name, problem: "must be an absolute http(s) URL".into() });
            default.to_string()
        }
    }
}

/// A key variable in `TOKEN_ENCRYPTION_KEY`'s format, when set; a problem names the
/// variable, never the value.
fn optional_key(env: &dyn EnvSource, variable: &'static str, problems: &mut Vec<ConfigProblem>) -> Option<Key> {
    match Key::from_base64(&non_empty(env, variable)?) {
        Ok(k) => Some(k),
        Err(e) => {
            let text = e.to_string();
            let problem = text.trim_start_matches("TOKEN_ENCRYPTION_KEY ").to_string();
            problems.push(ConfigProblem { variable, problem });
            None
        }
    }
}

impl Config {
    pub fn from_env(env: &dyn EnvSource) -> Result<Config, Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let missing = |variable: &'static str, what: &str| ConfigProblem {
            variable,
            problem: format!("is not set ({what}; `wrangler secret put {variable}`, or .dev.vars locally)"),
        };
        let client_id = non_empty(env, "SPOTIFY_CLIENT_ID");
        let client_secret = non_empty(env, "SPOTIFY_CLIENT_SECRET");
        match (&client_id, &client_secret) {
            (Some(_), None) => problems.push(missing(
                "SPOTIFY_CLIENT_SECRET",
                "the Client secret of the Spotify app named by SPOTIFY_CLIENT_ID",
            )),
            (None, Some(_)) => problems.push(missing(
                "SPOTIFY_CLIENT_ID",
                "the Client ID of the Spotify app whose secret SPOTIFY_CLIENT_SECRET holds",
            )),
            _ => {}
        }
        let operator_app = match (client_id, client_secret) {
            (Some(id), Some(secret)) => {
                Some(OperatorApp { client_id: id, client_secret: SpotifyClientSecret::new(secret) })
            }
            _ => None,
        };
        let user_apps = match non_empty(env, "USER_SPOTIFY_APPS").as_deref() {
            None | Some("allowed") => true,
            Some("off") => false,
            Some(_) => {
                problems.push(ConfigProblem {
                    variable: "USER_SPOTIFY_APPS",
                    problem: "must be \"allowed\" (the default) or \"off\"".into(),
                });
                true
            }
        };
        if !user_apps && operator_app.is_none() {
            problems.push(ConfigProblem {
                variable: "USER_SPOTIFY_APPS",
                problem: "is \"off\" but no operator app is configured (set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, or allow people's own apps), so nobody could sign in".into(),
            });
        }
        let master_key = match non_empty(env, "TOKEN_ENCRYPTION_KEY") {
            None => {
                problems.push(missing("TOKEN_ENCRYPTION_KEY", "32 random bytes as base64: `openssl rand -base64 32`"));
                None
            }
            Some(_) => optional_key(env, "TOKEN_ENCRYPTION_KEY", &mut problems),
        };
        let previous_key = optional_key(env, "TOKEN_ENCRYPTION_KEY_PREVIOUS", &mut problems);
        let identity_key = optional_key(env, "TOKEN_IDENTITY_KEY", &mut problems);
        let redirect_uri = non_empty(env, "SPOTIFY_REDIRECT_URI");
        if let Some(r) = &redirect_uri {
            if url::Url::parse(r).map(|u| !matches!(u.scheme(), "http" | "https")).unwrap_or(true) {
                problems.push(ConfigProblem {
                    variable: "SPOTIFY_REDIRECT_URI",
                    problem: "must be an absolute URL ending in /callback".into(),
                });
            }
        }
        let accounts_base = base_url(env, "SPOTIFY_ACCOUNTS_BASE_URL", DEFAULT_ACCOUNTS_BASE, &mut problems);
        let api_base = base_url(env, "SPOTIFY_API_BASE_URL", DEFAULT_API_BASE, &mut problems);
        let sign_ins_per_day = count(env, "SIGN_INS_PER_DAY", DEFAULT_SIGN_INS_PER_DAY, &mut problems);
        let refreshes_per_day = count(env, "REFRESHES_PER_DAY", DEFAULT_REFRESHES_PER_DAY, &mut problems);
        let local_benchmark = match non_empty(env, "LOCAL_BENCHMARK").as_deref() {
            None | Some("off") => false,
            Some("on") => true,
            Some(_) => {
                problems
                    .push(ConfigProblem { variable: "LOCAL_BENCHMARK", problem: "must be \"on\" or \"off\"".into() });
                false
            }
        };
        match master_key {
            Some(key) if problems.is_empty() => Ok(Config {
                operator_app,
                user_apps,
                master_key: Keyring::new(key, previous_key, identity_key),
                redirect_uri,
                accounts_base,
                api_base,
                allowed_users: non_empty(env, "ALLOWED_SPOTIFY_USERS")
                    .map(|list| list.split(',').map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect()),
                sign_ins_per_day,
                refreshes_per_day,
                local_benchmark,
            }),
            _ => Err(problems),
        }
    }

    /// Things `/health` tells an operator about a working configuration.
    pub fn notes(&self) -> Vec<ConfigProblem> {
        let mut notes = Vec::new();
        if self.master_key.identity_at_risk() {
            notes.push(ConfigProblem {
                variable: "TOKEN_IDENTITY_KEY",
                problem: "is not set: users and registered clients are named by TOKEN_ENCRYPTION_KEY_PREVIOUS during this rollover; set TOKEN_IDENTITY_KEY to the same value before removing it, or every user and client gets a new identity".into(),
            });
        }
        notes
    }

    /// Whether the consent page must ask for the person's own Spotify app.
    pub fn own_app_required(&self) -> bool {
        self.operator_app.is_none()
    }

    /// Whether this Spotify user may sign in here (see `ALLOWED_SPOTIFY_USERS`).
    pub fn allows(&self, spotify_id: &str) -> bool {
        self.allowed_users.as_ref().is_none_or(|list| list.iter().any(|u| u == spotify_id))
    }

    /// Where Spotify sends the browser back: configured, or this Worker's own `/callback`.
    pub fn spotify_redirect_uri(&self, origin: &str) -> String {
        self.redirect_uri.clone().unwrap_or_else(|| format!("{origin}/callback"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn complete_config_parses_with_defaults() {
        let key = crate::core::crypto::b64url(&[3u8; 32]);
        let c = Config::from_env(&env(&[
            ("SPOTIFY_CLIENT_ID", "id"),
            ("SPOTIFY_CLIENT_SECRET", "secret"),
            ("TOKEN_ENCRYPTION_KEY", &key),
        ]))
        .unwrap();
        assert_eq!(c.accounts_base, DEFAULT_ACCOUNTS_BASE);
        assert_eq!(c.api_base, DEFAULT_API_BASE);
        assert_eq!(c.spotify_redirect_uri("https://w.example"), "https://w.example/callback");
        assert!(!format!("{c:?}").contains("secret\""), "Debug must not print the client secret");
    }

    #[test]
    fn every_problem_names_its_variable_and_no_value() {
        let problems =
            Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", "c2hvcnQ"), ("SPOTIFY_API_BASE_URL", "ftp://nope")]))
                .unwrap_err();
        let vars: Vec<_> = problems.iter().map(|p| p.variable).collect();
        assert_eq!(vars, ["TOKEN_ENCRYPTION_KEY", "SPOTIFY_API_BASE_URL"]);
        assert!(problems.iter().all(|p| !p.problem.contains("c2hvcnQ")));
        assert!(problems[0].to_string().contains("32 bytes"));
    }

    #[test]
    fn daily_limits_default_and_refuse_what_is_not_a_positive_count() {
        let key = crate::core::crypto::b64url(&[3u8; 32]);
        let c = Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &key)])).unwrap();
        assert_eq!((c.sign_ins_per_day, c.refreshes_per_day), (DEFAULT_SIGN_INS_PER_DAY, DEFAULT_REFRESHES_PER_DAY));
        let c = Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &key), ("REFRESHES_PER_DAY", " 24 ")])).unwrap();
        assert_eq!(c.refreshes_per_day, 24);
        for bad in ["0", "-1", "ten", "1.5"] {
            let problems =
                Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &key), ("SIGN_INS_PER_DAY", bad)])).unwrap_err();
            assert_eq!(problems.iter().map(|p| p.variable).collect::<Vec<_>>(), ["SIGN_INS_PER_DAY"], "{bad}");
        }
    }

    #[test]
    fn the_operator_app_is_optional_but_whole() {
        let key = crate::core::crypto::b64url(&[3u8; 32]);
        let c = Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &key)])).unwrap();
        assert!(c.operator_app.is_none() && c.user_apps && c.own_app_required());
        let half = Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &key), ("SPOTIFY_CLIENT_ID", "id")])).unwrap_err();
        assert_eq!(half.iter().map(|p| p.variable).collect::<Vec<_>>(), ["SPOTIFY_CLIENT_SECRET"]);
        let off = Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &key), ("USER_SPOTIFY_APPS", "off")])).unwrap_err();
        assert_eq!(off[0].variable, "USER_SPOTIFY_APPS");
        assert!(off[0].problem.contains("no operator app"), "{}", off[0]);
        let bad =
            Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &key), ("USER_SPOTIFY_APPS", "maybe")])).unwrap_err();
        assert!(bad[0].problem.contains("\"allowed\""));
        let only_operator = Config::from_env(&env(&[
            ("TOKEN_ENCRYPTION_KEY", &key),
            ("SPOTIFY_CLIENT_ID", "id"),
            ("SPOTIFY_CLIENT_SECRET", "secret"),
            ("USER_SPOTIFY_APPS", "off"),
        ]))
        .unwrap();
        assert!(!only_operator.user_apps && !only_operator.own_app_required());
    }

    #[test]
    fn the_previous_and_identity_keys_are_optional_and_checked_by_name() {
        let (a, b) = (crate::core::crypto::b64url(&[1u8; 32]), crate::core::crypto::b64url(&[2u8; 32]));
        let plain = Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &b)])).unwrap();
        assert!(plain.master_key.previous().is_none() && plain.notes().is_empty());
        let rolling =
            Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &b), ("TOKEN_ENCRYPTION_KEY_PREVIOUS", &a)])).unwrap();
        assert_eq!(rolling.master_key.current(), &Key::from_bytes([2; 32]));
        assert_eq!(rolling.master_key.previous(), Some(&Key::from_bytes([1; 32])));
        assert_eq!(rolling.master_key.identity(), &Key::from_bytes([1; 32]));
        let notes = rolling.notes();
        assert_eq!(notes.iter().map(|n| n.variable).collect::<Vec<_>>(), ["TOKEN_IDENTITY_KEY"]);
        let pinned = Config::from_env(&env(&[
            ("TOKEN_ENCRYPTION_KEY", &b),
            ("TOKEN_ENCRYPTION_KEY_PREVIOUS", &a),
            ("TOKEN_IDENTITY_KEY", &a),
        ]))
        .unwrap();
        assert!(pinned.notes().is_empty());
        let after = Config::from_env(&env(&[("TOKEN_ENCRYPTION_KEY", &b), ("TOKEN_IDENTITY_KEY", &a)])).unwrap();
        assert!(after.master_key.previous().is_none());
        assert_eq!(after.master_key.identity(), &Key::from_bytes([1; 32]));

        let short = crate::core::crypto::b64url(&[7u8; 16]);
        let problems = Config::from_env(&env(&[
            ("TOKEN_ENCRYPTION_KEY", &b),
            ("TOKEN_ENCRYPTION_KEY_PREVIOUS", &short),
            ("TOKEN_IDENTITY_KEY", "not base64!"),
        ]))
        .unwrap_err();
        assert_eq!(
            problems.iter().map(|p| p.variable).collect::<Vec<_>>(),
            ["TOKEN_ENCRYPTION_KEY_PREVIOUS", "TOKEN_IDENTITY_KEY"]
        );
        assert!(problems[0].problem.contains("32 bytes"), "{}", problems[0]);
        assert!(problems[1].problem.contains("base64"), "{}", problems[1]);
        for p in &problems {
            let text = p.to_string();
            assert!(!text.contains(&short) && !text.contains("not base64!") && !text.contains(&b), "{text}");
            assert!(!p.problem.starts_with("TOKEN_ENCRYPTION_KEY"), "{text}");
        }
    }
}
