//! `spotify-emulator --port 8788`: the emulator as a standalone process for `make dev`.
//!
//! Unlike the library's default, the binary accepts any 32-hex client id as a public app
//! (`--open-public-apps`, on unless `--open-public-apps=false` or `--no-open-public-apps`),
//! so a person can sign in with an invented client id.

const USAGE: &str = "usage: spotify-emulator [--port N] [--client-id ID] [--client-secret S] [--token-ttl SECS] \
                     [--open-public-apps[=true|false]] [--no-open-public-apps]";

fn main() {
    let mut config = spotify_emulator::Config { open_public_apps: true, ..spotify_emulator::Config::default() };
    let mut port = 8788u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--open-public-apps" | "--open-public-apps=true" => {
                config.open_public_apps = true;
                continue;
            }
            "--no-open-public-apps" | "--open-public-apps=false" => {
                config.open_public_apps = false;
                continue;
            }
            _ => {}
        }
        let value = args.next().unwrap_or_default();
        match arg.as_str() {
            "--port" => port = value.parse().unwrap_or(port),
            "--client-id" => config.client_id = value,
            "--client-secret" => config.client_secret = value,
            "--token-ttl" => config.access_token_ttl_secs = value.parse().unwrap_or(3600),
            other => {
                eprintln!("unknown argument {other}; {USAGE}");
                std::process::exit(2);
            }
        }
    }
    let emulator = match spotify_emulator::Emulator::start(port, config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("spotify emulator: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("spotify emulator listening on {}", emulator.base_url());
    loop {
        std::thread::park();
    }
}
