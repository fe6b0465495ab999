//! The Model Context Protocol. `model` is JSON-RPC and MCP values with no notion of HTTP;
//! `server` dispatches one request in either protocol era; `transport` applies the
//! Streamable HTTP rules (status codes, headers, Origin) around it.
pub mod model;
pub mod prompts;
pub mod server;
pub mod transport;
