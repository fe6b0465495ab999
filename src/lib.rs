//! A multi-user Spotify MCP server for Cloudflare Workers.
//!
//! Everything but [`edge`] is runtime-independent: it talks to KV, HTTP and the clock
//! through the small traits in [`core::platform`], so the whole server runs under plain
//! `cargo test` on the host. [`edge`] binds those traits to the runtime's KV and Rate
//! Limiting bindings, `fetch` and `Date.now`, and is the only module that knows about workerd.
#![forbid(unsafe_code)]

pub mod account;
pub mod app;
pub mod context;
pub mod core;
pub mod fair_use;
pub mod json;
pub mod mcp;
pub mod oauth;
pub mod pages;
pub mod spotify;
pub mod tools;

#[cfg(target_arch = "wasm32")]
mod edge;
