//! Checks of the OpenAPI document itself: its $refs resolve, its paths' parameters and
//! list parameters are documented as the API validates them, every text field of a
//! request states its limit; and the schemas closed for checking answers.

use serde_json::Value;
use std::collections::BTreeSet;

use crate::openapi::Checker;

/// Names of the schemas used as parts of an `allOf`.
pub fn collect_composed(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for part in map
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(name) = part["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    out.insert(name.to_owned());
                }
            }
            map.values().for_each(|v| collect_composed(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_composed(v, out)),
        _ => {}
    }
}

/// `schema` with `unevaluatedProperties: false` on each object schema that lists its
/// properties (and on each `allOf`, not on its parts).
pub fn strict(mut schema: Value) -> Value {
    fn walk(v: &mut Value, inside_all_of: bool) {
        match v {
            Value::Object(map) => {
                let closes =
                    map.contains_key("allOf") || (map.contains_key("properties") && !inside_all_of);
                if closes && !map.contains_key("additionalProperties") {
                    map.insert("unevaluatedProperties".into(), Value::Bool(false));
                }
                for (key, child) in map.iter_mut() {
                    if key == "allOf" {
                        for part in child.as_array_mut().into_iter().flatten() {
                            walk(part, true);
                        }
                    } else {
                        walk(child, false);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, false)),
            _ => {}
        }
    }
    walk(&mut schema, false);
    schema
}

impl Checker<'_> {
    /// Every `$ref` of the document points at a schema it holds.
    pub fn assert_refs_resolve(&self) {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r.clone());
                    }
                    map.values().for_each(|v| walk(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut refs = Vec::new();
        walk(&self.doc, &mut refs);
        let dangling: BTreeSet<&String> = refs
            .iter()
            .filter(|r| {
                r.strip_prefix("#/components/schemas/")
                    .is_none_or(|name| self.doc["components"]["schemas"][name].is_null())
            })
            .collect();
        assert!(dangling.is_empty(), "dangling $refs: {dangling:?}");
    }

    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            Some(name) => &self.doc["components"]["schemas"][name],
            None => schema,
        }
    }

    /// Whether the schema (through $refs and oneOf/anyOf) is an enum.
    fn has_enum(&self, schema: &Value) -> bool {
        let schema = self.resolve(schema);
        schema.get("enum").is_some()
            || ["oneOf", "anyOf", "allOf"].iter().any(|k| {
                schema[*k]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|s| self.has_enum(s)))
            })
    }

    fn allows_type(&self, schema: &Value, wanted: &str) -> bool {
        let schema = self.resolve(schema);
        schema["type"] == wanted
            || schema["type"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == wanted))
    }

    /// Each `{name}` of a path is a documented path parameter; `limit`, `cursor` and the
    /// filters say what the API takes; every text field a request takes states its limit.
    pub fn assert_parameters_and_limits(&self) {
        let mut problems = Vec::new();
        for key in self.operations() {
            let op = self.operation(&key);
            let documented: BTreeSet<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            for param in op["parameters"].as_array().into_iter().flatten() {
                let name = param["name"].as_str().unwrap_or_default();
                let schema = &param["schema"];
                match name {
                    "limit" => {
                        let bounds = (&schema["minimum"], &schema["maximum"], &schema["default"]);
                        if bounds != (&Value::from(1), &Value::from(200), &Value::from(50)) {
                            problems.push(format!(
                                "{} {}: limit is not 1-200, default 50: {schema}",
                                key.0, key.1
                            ));
                        }
                    }
                    "cursor" if !self.allows_type(schema, "string") => {
                        problems.push(format!("{} {}: cursor is not a string", key.0, key.1));
                    }
                    "status" | "kind" | "priority" | "severity" if !self.has_enum(schema) => {
                        problems.push(format!("{} {}: {name} is not an enum", key.0, key.1));
                    }
                    _ => {}
                }
            }
            for part in key.1.split('/').filter(|s| s.starts_with('{')) {
                let name = part.trim_matches(|c| c == '{' || c == '}');
                if !documented.contains(name) {
                    problems.push(format!(
                        "{} {}: path parameter {name} undocumented",
                        key.0, key.1
                    ));
                }
            }
            if let Some(name) = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                let schema = &self.doc["components"]["schemas"][name];
                for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                    let is_string = property["type"] == "string"
                        || property["type"]
                            .as_array()
                            .is_some_and(|t| t.iter().any(|t| t == "string"));
                    let free = property.get("format").is_none() && property.get("enum").is_none();
                    if is_string && free && property.get("maxLength").is_none() {
                        problems.push(format!("{name}.{field} states no maxLength"));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
