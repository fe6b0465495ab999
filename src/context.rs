//! The request context: what one request may use, seen by every layer that serves it
//! (the router, OAuth, the tools, the account pages). It sits below them all and above the
//! core and the Spotify client it hands out, so no layer imports it back from the router.

use crate::core::config::Config;
use crate::core::http::is_loopback_host;
use crate::core::platform::Platform;
use crate::core::store::Store;
use crate::spotify::SpotifyApi;

/// What one request may use: the platform, the configuration and our public origin.
pub struct Ctx<'a, P: Platform> {
    pub platform: &'a P,
    pub config: &'a Config,
    /// `scheme://host[:port]` the client used: issuer, resource and callback derive from it.
    pub origin: String,
}

impl<'a, P: Platform> Ctx<'a, P> {
    pub fn now(&self) -> u64 {
        self.platform.now_secs()
    }
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.origin)
    }
    pub fn store(&self) -> Store<'a, P> {
        Store::new(self.platform, &self.config.master_key)
    }
    pub fn spotify(&self) -> SpotifyApi<'a, P> {
        SpotifyApi::new(self.platform, self.config)
    }
    pub fn spotify_redirect_uri(&self) -> String {
        self.config.spotify_redirect_uri(&self.origin)
    }
    /// `LOCAL_BENCHMARK=on` on loopback (see [`Config::local_benchmark`]).
    pub fn benchmark(&self) -> bool {
        self.config.local_benchmark && self.is_local_run()
    }
    /// How long the consent page must have been shown before an approval counts: see
    /// [`crate::core::config::CONSENT_MIN_DWELL_MS`].
    pub fn consent_dwell_ms(&self) -> u64 {
        if self.benchmark() {
            0
        } else {
            crate::core::config::CONSENT_MIN_DWELL_MS
        }
    }
    /// A Worker served on loopback is `wrangler dev`: only then may client metadata
    /// documents be fetched over plain http from loopback.
    pub fn is_local_run(&self) -> bool {
        url::Url::parse(&self.origin).map(|u| is_loopback_host(&u)).unwrap_or(false)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::Ctx;
    use crate::core::config::{Config, CONSENT_MIN_DWELL_MS};
    use crate::core::testing::TestPlatform;

    #[test]
    fn benchmark_mode_holds_on_loopback_only() {
        let key = crate::core::crypto::b64url(&[3u8; 32]);
        let env: std::collections::HashMap<String, String> =
            [("TOKEN_ENCRYPTION_KEY", key.as_str()), ("LOCAL_BENCHMARK", "on")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let config = Config::from_env(&env).unwrap();
        let platform = TestPlatform::default();
        let at = |origin: &str| {
            let ctx = Ctx { platform: &platform, config: &config, origin: origin.into() };
            (ctx.benchmark(), ctx.consent_dwell_ms())
        };
        assert_eq!(at("http://127.0.0.1:8787"), (true, 0), "wrangler dev: scripted sign-ins");
        assert_eq!(at("https://mcp.example"), (false, CONSENT_MIN_DWELL_MS), "deployed: ignored");
        let mut bad = env.clone();
        bad.insert("LOCAL_BENCHMARK".into(), "yes".into());
        assert_eq!(Config::from_env(&bad).unwrap_err()[0].variable, "LOCAL_BENCHMARK");
    }

    /// Dependencies point one way: the router imports every layer, no layer imports the
    /// router (only the runtime adapter above it does).
    #[test]
    fn no_layer_imports_the_router() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        walk(&src, &mut files);
        assert!(files.len() > 20);
        let needle = format!("crate::{}", "app");
        let offenders: Vec<_> = files
            .iter()
            .filter(|f| !f.ends_with("app.rs") && !f.starts_with(src.join("edge")))
            .filter(|f| std::fs::read_to_string(f).unwrap().contains(&needle))
            .collect();
        assert!(offenders.is_empty(), "{offenders:?}");
    }
}
