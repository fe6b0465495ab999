//! Every tool as data (`catalogue.json`): its wire definition (name, title, description,
//! annotations, inputSchema, outputSchema) and, beside it, what the schema cannot say
//! (never sent): `capability` (the grant that lists it), `modes` (for a folded tool, which
//! arguments each value of its mode argument takes and needs) and `clamp` (arguments
//! reduced to their maximum rather than refused). Parsed once per isolate; each call's
//! arguments are checked against it before its handler runs ([`Tool::check`]).

use crate::core::capability::{Capabilities, Capability};
use crate::core::record::{json_record, Json};
use crate::mcp::model::Client;
use crate::tools::schema;
use serde_json::{Map, Value};
use std::sync::OnceLock;

const SOURCE: &str = include_str!("catalogue.json");
/// What `catalogue.json` holds beside each definition (not sent).
const PRIVATE: [&str; 3] = ["capability", "modes", "clamp"];

/// One tool.
pub struct Tool {
    pub name: String,
    /// `None`: every grant has it.
    pub capability: Option<Capability>,
    /// What `tools/list` sends.
    pub definition: Value,
    modes: Option<Modes>,
    clamp: Vec<String>,
}

/// A folded tool's mode argument (`command`, `kind`, `action`) and its values.
pub struct Modes {
    pub key: String,
    pub cases: Vec<Case>,
}

json_record!(Modes { key, cases });

/// One value of the mode argument.
pub struct Case {
    pub name: String,
    /// The arguments it takes besides the mode argument.
    pub takes: Vec<String>,
    /// Those it needs, each with what to pass.
    needs: Vec<(String, String)>,
    /// Constraints it adds to an argument's schema (merged over it when loaded).
    schema: Map<String, Value>,
}

json_record!(Case { name, takes, needs: default, schema: default });

fn load() -> Vec<Tool> {
    // Read as a `Value`, the one type the byte parser is compiled for.
    let Ok(Value::Array(entries)) = serde_json::from_slice::<Value>(SOURCE.as_bytes()) else {
        panic!("catalogue.json is a JSON array")
    };
    entries
        .into_iter()
        .map(|entry| {
            let Value::Object(mut definition) = entry else { panic!("catalogue.json holds objects") };
            let name = definition["name"].as_str().unwrap_or_default().to_string();
            let capability = definition.get("capability").and_then(Value::as_str).and_then(Capability::parse);
            let mut modes: Option<Modes> =
                definition.get("modes").map(|m| Modes::from_json(m).unwrap_or_else(|| panic!("the modes of {name}")));
            let clamp = definition
                .get("clamp")
                .and_then(Value::as_array)
                .map(|c| c.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            crate::json::retain(&mut definition, &mut |k, _| !PRIVATE.contains(&k));
            let mut definition = Value::Object(definition);
            if let Some(m) = modes.as_mut() {
                // The mode argument's enum is the list of cases.
                let names: Vec<Value> = m.cases.iter().map(|c| Value::from(c.name.as_str())).collect();
                definition["inputSchema"]["properties"][&m.key]["enum"] = Value::Array(names);
                for case in &mut m.cases {
                    for (arg, extra) in std::mem::take(&mut case.schema) {
                        let mut merged = definition["inputSchema"]["properties"][&arg].clone();
                        if let (Some(base), Value::Object(extra)) = (merged.as_object_mut(), extra) {
                            base.extend(extra);
                        }
                        case.schema.insert(arg, merged);
                    }
                }
            }
            Tool { name, capability, definition, modes, clamp }
        })
        .collect()
}

/// Every tool, in list order.
pub fn all() -> &'static [Tool] {
    static TOOLS: OnceLock<Vec<Tool>> = OnceLock::new();
    TOOLS.get_or_init(load)
}

pub fn find(name: &str) -> Option<&'static Tool> {
    all().iter().find(|t| t.name == name)
}

/// The `tools` of `tools/list` for a grant of `granted`: the always-on tools and those of
/// each granted capability, in list order; for a client that renders MCP Apps, with their
/// views.
pub fn list(granted: Capabilities, client: Client) -> Value {
    Value::Array(
        all()
            .iter()
            .filter(|t| t.capability.is_none_or(|c| granted.contains(c)))
            .map(|t| if client.apps { crate::tools::ui::with_view(t.definition.clone()) } else { t.definition.clone() })
            .collect(),
    )
}

/// [`list`] as JSON text, the only form an isolate keeps (once per (set, apps)): what
/// `tools/list` writes out.
pub fn list_json(granted: Capabilities, client: Client) -> &'static str {
    static TEXTS: [OnceLock<String>; 16] = [const { OnceLock::new() }; 16];
    TEXTS[granted.index() * 2 + usize::from(client.apps)].get_or_init(|| crate::json::text(&list(granted, client)))
}

/// Checks a successful `tools/call` result of `name` against the tool's outputSchema (for
/// the tests: every result they see goes through it).
pub fn check_result(name: &str, result: &Value) -> Result<(), String> {
    let tool = find(name).ok_or_else(|| format!("no tool {name}"))?;
    if result["isError"] == true || result.get("structuredContent").is_none() {
        return Ok(());
    }
    schema::validate(tool.output(), &result["structuredContent"], "structuredContent")
        .map_err(|e| format!("{name} answered outside its outputSchema: {e}"))
}

impl Tool {
    pub fn input(&self) -> &Value {
        &self.definition["inputSchema"]
    }

    pub fn output(&self) -> &Value {
        &self.definition["outputSchema"]
    }

    /// Whether the value `mode` of this folded tool's mode argument takes `arg`.
    pub fn takes(&self, mode: &str, arg: &str) -> bool {
        let case = self.modes.as_ref().and_then(|m| m.cases.iter().find(|c| c.name == mode));
        case.is_some_and(|c| c.takes.iter().any(|t| t == arg))
    }

    pub fn modes(&self) -> Option<&Modes> {
        self.modes.as_ref()
    }

    /// The call's arguments as the handler reads them, or the message a model corrects its
    /// call from. In order: unknown arguments; missing required ones; the mode's value, the
    /// arguments it does not take and those it needs; each argument against its schema
    /// (with the mode's additions). An optional argument given as `null` counts as absent;
    /// an absent argument the call takes gets its `default`.
    pub fn check(&self, args: &Value) -> Result<Value, String> {
        let empty = Map::new();
        let input = self.input();
        let properties = input["properties"].as_object().unwrap_or(&empty);
        let required: Vec<&str> =
            input["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut args = args.as_object().cloned().unwrap_or_default();
        crate::json::retain(&mut args, &mut |k, v| {
            !(v.is_null() && !required.contains(&k) && properties.get(k).is_some_and(|s| !schema::allows_null(s)))
        });
        if let Some(extra) = args.keys().find(|k| !properties.contains_key(*k)) {
            return Err(schema::unknown(extra, properties));
        }
        if let Some(key) = required.iter().find(|k| !args.contains_key(**k)) {
            return Err(schema::missing(&properties[*key], key));
        }
        let case = match &self.modes {
            None => None,
            Some(m) => {
                let value = args.get(&m.key).unwrap_or(&Value::Null);
                schema::validate(&properties[&m.key], value, &m.key)?;
                let case = m.cases.iter().find(|c| Some(c.name.as_str()) == value.as_str());
                let case = case.ok_or_else(|| format!("Unknown {} {}.", m.key, crate::json::text(value)))?;
                if let Some(extra) = args.keys().find(|k| **k != m.key && !case.takes.contains(k)) {
                    return Err(if case.takes.is_empty() {
                        format!("{extra} does not apply to {} {}, which takes no other argument.", m.key, case.name)
                    } else {
                        format!(
                            "{extra} does not apply to {} {}, which takes: {}.",
                            m.key,
                            case.name,
                            case.takes.join(", ")
                        )
                    });
                }
                if let Some((arg, what)) = case.needs.iter().find(|(arg, _)| !args.contains_key(arg)) {
                    return Err(format!("{} {} needs {arg}: {what}.", m.key, case.name));
                }
                Some(case)
            }
        };
        for (key, value) in &args {
            let s = case.and_then(|c| c.schema.get(key)).unwrap_or(&properties[key]);
            // Above its maximum, a clamped argument is reduced to it (by the tool, which says so).
            let above = |max: &Value| value.as_f64().zip(max.as_f64()).is_some_and(|(v, m)| v > m);
            let value = match s.get("maximum") {
                Some(max) if self.clamp.contains(key) && above(max) => max,
                _ => value,
            };
            schema::validate(s, value, key)?;
        }
        for (key, s) in properties {
            let applies = case.is_none_or(|c| c.takes.contains(key));
            if let (Some(default), true, false) = (s.get("default"), applies, args.contains_key(key)) {
                args.insert(key.clone(), default.clone());
            }
        }
        Ok(Value::Object(args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(tool: &str, args: Value) -> String {
        find(tool).unwrap().check(&args).unwrap_err()
    }

    #[test]
    fn the_shared_text_of_each_list_is_that_list() {
        let sets = (0..8).map(|bits| {
            crate::core::capability::Capability::ALL
                .into_iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .fold(Capabilities::NONE, |set, (_, c)| set.with(c))
        });
        for granted in sets {
            for apps in [false, true] {
                let client = Client { apps, ..Client::default() };
                let text: Value = serde_json::from_str(list_json(granted, client)).unwrap();
                assert_eq!(text, list(granted, client), "{granted:?} apps={apps}");
            }
        }
    }

    #[test]
    fn every_schema_uses_only_what_the_validator_knows() {
        for t in all() {
            assert_eq!(schema::unknown_keywords(t.input(), &t.name), Vec::<String>::new());
            assert_eq!(schema::unknown_keywords(t.output(), &t.name), Vec::<String>::new());
            for key in t.definition.as_object().unwrap().keys() {
                assert!(
                    ["name", "title", "description", "annotations", "inputSchema", "outputSchema"]
                        .contains(&key.as_str()),
                    "{}: {key}",
                    t.name
                );
            }
            let properties = t.input()["properties"].as_object().unwrap();
            if let Some(m) = t.modes() {
                assert!(properties.contains_key(&m.key), "{}", t.name);
                for case in &m.cases {
                    for arg in case.takes.iter().chain(case.needs.iter().map(|(a, _)| a)).chain(case.schema.keys()) {
                        assert!(properties.contains_key(arg), "{} {}: {arg}", t.name, case.name);
                    }
                    for (arg, _) in &case.needs {
                        assert!(case.takes.contains(arg), "{} {} needs {arg} it does not take", t.name, case.name);
                    }
                }
            }
            for c in &t.clamp {
                assert!(properties[c]["maximum"].is_number(), "{}: {c}", t.name);
            }
        }
    }

    #[test]
    fn arguments_are_checked_against_the_schema_and_the_mode() {
        for (tool, args, want) in [
            ("control_playback", json!({}), "command is required: one of pause, resume, next, previous, seek, volume, shuffle, repeat, transfer."),
            ("control_playback", json!({"command": "stop"}), "Unknown command \"stop\"; it must be one of: pause, resume, next, previous, seek, volume, shuffle, repeat, transfer."),
            ("control_playback", json!({"command": "seek"}), "command seek needs position_ms: milliseconds from the start of the track."),
            ("control_playback", json!({"command": "seek", "position_ms": -1}), "position_ms must be a non-negative integer."),
            ("control_playback", json!({"command": "volume", "volume_percent": 101}), "volume_percent must be an integer from 0 to 100."),
            ("control_playback", json!({"command": "shuffle", "state": "on"}), "Unknown state \"on\"; it must be one of: true, false."),
            ("control_playback", json!({"command": "repeat", "state": true}), "Unknown state true; it must be one of: track, context, off."),
            ("control_playback", json!({"command": "transfer", "device": "Laptop", "play": "yes"}), "play must be true or false."),
            ("control_playback", json!({"command": "pause", "volume_percent": 3}), "volume_percent does not apply to command pause, which takes: device."),
            ("control_playback", json!({"command": "pause", "volume": 3}), "Unknown argument \"volume\"; this tool takes: command, device, play, position_ms, state, volume_percent"),
            ("get_library", json!({"kind": "saved_tracks", "limit": 500}), "limit must be an integer from 1 to 50."),
            ("get_library", json!({"kind": "recently_played", "offset": 5}), "offset does not apply to kind recently_played, which takes: limit."),
            ("get_library", json!({"kind": "top_tracks", "time_range": "forever"}), "Unknown time_range \"forever\"; it must be one of: short_term, medium_term, long_term."),
            ("edit_playlist_items", json!({"playlist": "p"}), "action is required: one of add, remove, reorder, replace."),
            ("edit_playlist_items", json!({"playlist": "p", "action": "add"}), "action add needs uris: 1 to 100 track or episode URIs."),
            ("edit_playlist_items", json!({"playlist": "p", "action": "add", "uris": []}), "uris must be a list of 1 to 100 strings."),
            ("edit_playlist_items", json!({"playlist": "p", "action": "reorder", "range_start": 0}), "action reorder needs insert_before: the zero-based position to move the items before."),
            ("save_to_library", json!({"uris": []}), "uris must be a list of 1 to 40 strings."),
            ("search", json!({"query": "x", "types": ["genre"]}), "types must list some of: track, album, artist, playlist, show, episode."),
            ("search_tracks", json!({"query": "x", "limit": 0}), "limit must be an integer from 1 to 10."),
            ("create_playlist", json!({"name": ""}), "name is required (1 to 100 characters)."),
            ("get_item", json!({}), "uri is required: spotify: URI or open.spotify.com link; a bare id needs type."),
            ("get_my_profile", json!({"x": 1}), "Unknown argument \"x\"; this tool takes no arguments."),
            ("forget_me", json!({"confirm": false}), "confirm must be true."),
        ] {
            assert_eq!(refused(tool, args.clone()), want, "{tool} {args}");
        }
    }

    #[test]
    fn valid_arguments_come_back_with_their_defaults() {
        let lib = find("get_library").unwrap();
        assert_eq!(
            lib.check(&json!({"kind": "top_tracks"})).unwrap(),
            json!({"kind": "top_tracks", "limit": 20, "time_range": "medium_term"})
        );
        assert_eq!(
            lib.check(&json!({"kind": "saved_tracks", "offset": null})).unwrap(),
            json!({"kind": "saved_tracks", "limit": 20})
        );
        let edit = find("edit_playlist_items").unwrap();
        let moved =
            edit.check(&json!({"playlist": "p", "action": "reorder", "range_start": 3, "insert_before": 0})).unwrap();
        assert_eq!(moved["range_length"], 1);
        assert!(edit.check(&json!({"playlist": "p", "action": "replace", "uris": []})).is_ok());
        assert_eq!(
            find("search").unwrap().check(&json!({"query": "x", "limit": 50})).unwrap()["limit"],
            50,
            "clamped by the tool"
        );
        assert!(find("forget_me").unwrap().check(&json!({})).is_ok(), "the gate asks");
    }
}
