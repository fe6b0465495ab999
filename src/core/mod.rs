//! Building blocks shared by every part of the server: ports to the runtime, HTTP values,
//! configuration, cryptography, secret newtypes and the per-user KV store.
pub mod capability;
pub mod config;
pub mod crypto;
pub mod http;
pub mod keyring;
pub mod memo;
pub mod platform;
pub mod record;
pub mod sealed;
pub mod secret;
pub mod spotify_app;
pub mod store;
/// Test doubles for the ports; host only (they use real sockets for HTTP).
#[cfg(all(test, not(target_arch = "wasm32")))]
pub mod testing;
