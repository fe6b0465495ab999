//! `spotify-emulator --port 8788`: the emulator as a standalone process for `make dev`.

fn main() {
    let mut config = spotify_emulator::Config::default();
    let mut port = 8788u16;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_default();
        match arg.as_str() {
            "--port" => port = value.parse().unwrap_or(port),
            "--client-id" => config.client_id = value,
            "--client-secret" => config.client_secret = value,
            "--token-ttl" => config.access_token_ttl_secs = value.parse().unwrap_or(3600),
            other => {
                eprintln!("unknown argument {other}; usage: spotify-emulator [--port N] [--client-id ID] [--client-secret S] [--token-ttl SECS]");
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
