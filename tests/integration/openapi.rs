//! The OpenAPI document against the real API. Every answer the router gives must be a
//! status the document lists for that operation, with a body that matches the listed
//! schema ($refs resolved, JSON Schema 2020-12); every operation of the document must be
//! exercised, with a success, and every status it lists must be seen. Operations added
//! later cannot escape: they fail the test until they are driven here.

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use tower::ServiceExt;

use crate::support::TestApp;

/// An operation: method and path template under `/api/v1`.
pub type OpKey = (String, String);

/// A request that succeeded, kept to derive the error cases of its operation from.
#[derive(Clone)]
struct Example {
    params: Vec<(String, String)>,
    body: Option<String>,
}

pub struct Answer {
    pub status: StatusCode,
    pub json: Value,
}

/// Drives operations and checks every answer against the document.
pub struct Checker<'a> {
    app: &'a TestApp,
    pub doc: Value,
    seen: BTreeMap<OpKey, BTreeSet<u16>>,
    examples: BTreeMap<OpKey, Example>,
}

fn fill(template: &str, params: &[(String, String)]) -> String {
    let mut path = format!("/api/v1{template}");
    for (name, value) in params {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    path
}

impl<'a> Checker<'a> {
    pub async fn new(app: &'a TestApp) -> Self {
        let r = app.get("/api/openapi.json").await;
        assert_eq!(r.status, StatusCode::OK);
        Checker {
            app,
            doc: r.json(),
            seen: BTreeMap::new(),
            examples: BTreeMap::new(),
        }
    }

    /// Every operation of the document.
    pub fn operations(&self) -> Vec<OpKey> {
        let mut ops = Vec::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            let template = path.strip_prefix("/api/v1").expect("under /api/v1");
            for method in ["get", "post", "put", "patch", "delete"] {
                if item.get(method).is_some() {
                    ops.push((method.to_uppercase(), template.to_owned()));
                }
            }
        }
        ops
    }

    pub fn operation(&self, (method, template): &OpKey) -> &Value {
        let op = &self.doc["paths"][format!("/api/v1{template}")][method.to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not in the document");
        op
    }

    /// Call `method template` (with `params` filled in, `query` appended) as `token`,
    /// with a JSON `body`; check the answer against the document.
    pub async fn call(
        &mut self,
        method: Method,
        template: &str,
        params: &[(&str, &str)],
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let body = body.map(|b| b.to_string());
        let key = (method.to_string(), template.to_owned());
        let answer = self
            .send(
                &key,
                &params,
                "",
                Some(format!("Bearer {token}")),
                body.clone().map(|b| ("application/json", b.into_bytes())),
            )
            .await;
        if answer.status.is_success() {
            self.examples.insert(key, Example { params, body });
        }
        answer
    }

    /// Like [`call`](Self::call), with a query string.
    pub async fn call_query(&mut self, template: &str, query: &str, token: &str) -> Answer {
        let key = ("GET".to_owned(), template.to_owned());
        self.send(&key, &[], query, Some(format!("Bearer {token}")), None)
            .await
    }

    async fn send(
        &mut self,
        key: &OpKey,
        params: &[(String, String)],
        query: &str,
        authorization: Option<String>,
        body: Option<(&str, Vec<u8>)>,
    ) -> Answer {
        let mut uri = fill(&key.1, params);
        if !query.is_empty() {
            uri = format!("{uri}?{query}");
        }
        let mut req = Request::builder()
            .method(key.0.as_str())
            .uri(&uri)
            .extension(ConnectInfo("10.0.0.9:40000".parse::<SocketAddr>().unwrap()));
        if let Some(value) = authorization {
            req = req.header(header::AUTHORIZATION, value);
        }
        let req = match body {
            Some((content_type, bytes)) => req
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(bytes)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let response = self.app.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let media = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_owned();
        // A live stream never ends: its headers say enough.
        let bytes = if media == "text/event-stream" {
            Vec::new()
        } else {
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec()
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let documented = &self.operation(key)["responses"][status.as_str()];
        assert!(
            documented.is_object(),
            "{} {uri} answered {status}, which the document does not list for {} {}: {text}",
            key.0,
            key.0,
            key.1
        );
        let mut json = Value::Null;
        if !media.is_empty() {
            let content = &documented["content"][&media];
            assert!(
                content.is_object(),
                "{} {uri} answered {status} as {media}, which the document does not list",
                key.0
            );
            if media.ends_with("json") {
                json = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} {uri}: not JSON ({e}): {text}", key.0));
                self.validate(
                    &content["schema"],
                    &json,
                    &format!("{} {uri} {status}", key.0),
                );
            }
        }
        self.seen
            .entry(key.clone())
            .or_default()
            .insert(status.as_u16());
        Answer { status, json }
    }

    fn validate(&self, schema: &Value, instance: &Value, what: &str) {
        assert!(schema.is_object(), "{what}: the document gives no schema");
        let mut root = crate::openapi_doc::strict(schema.clone());
        root["components"] = self.strict_components();
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .unwrap_or_else(|e| panic!("{what}: the document's schema does not compile: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("{e} (at {})", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the body does not match the document: {errors:#?}\n{instance:#}"
        );
    }

    /// The document's schemas, closed: a property the document does not name is an
    /// error (schemas composed with `allOf` are closed where they are composed).
    fn strict_components(&self) -> Value {
        let mut components = self.doc["components"].clone();
        let mut composed = BTreeSet::new();
        crate::openapi_doc::collect_composed(&components, &mut composed);
        if let Some(schemas) = components["schemas"].as_object_mut() {
            for (name, schema) in schemas.iter_mut() {
                if !composed.contains(name) {
                    *schema = crate::openapi_doc::strict(schema.take());
                }
            }
        }
        components
    }

    /// The error answers every operation can give, derived from what it is and from the
    /// request that succeeded: no token, a malformed header, a role too low (with a
    /// malformed body, which the role check must come before), nothing at the path, a
    /// malformed, oversized, mistyped or invalid body, an invalid query.
    pub async fn drive_common_errors(&mut self, admin: &str, responder: &str, viewer: &str) {
        for key in self.operations() {
            let op = self.operation(&key).clone();
            let example = self
                .examples
                .get(&key)
                .cloned()
                .unwrap_or_else(|| panic!("{} {} was never called with success", key.0, key.1));
            let json_body = |b: &str| Some(("application/json", b.as_bytes().to_vec()));
            let body = example.body.as_deref();
            let p = &example.params;

            let r = self.send(&key, p, "", None, body.and_then(json_body)).await;
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{key:?} without a token"
            );
            let basic = Some("Basic cm9vdDpodW50ZXIy".to_owned());
            let r = self
                .send(&key, p, "", basic, body.and_then(json_body))
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{key:?} with Basic auth");

            let role = op["security"][0]["bearer"][0].as_str();
            let bearer = |t: &str| Some(format!("Bearer {t}"));
            let low: Vec<&str> = match role {
                Some("admin") => vec![viewer, responder],
                Some("responder") => vec![viewer],
                Some(other) => panic!("{key:?} names an unknown role {other}"),
                None => vec![],
            };
            if role.is_none() {
                // Open to every role: a viewer's answer must be a documented one (a
                // role check without its `security` scope shows up as an undocumented 403).
                let r = self
                    .send(&key, p, "", bearer(viewer), body.and_then(json_body))
                    .await;
                assert_ne!(r.status, StatusCode::FORBIDDEN, "{key:?} as a viewer");
            }
            for token in low {
                let malformed = body.map(|_| ("application/json", b"{".to_vec()));
                let r = self.send(&key, p, "", bearer(token), malformed).await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{key:?} with a low role");
            }

            if key.1.contains('{') {
                let missing: Vec<(String, String)> = p
                    .iter()
                    .map(|(k, _)| (k.clone(), uuid::Uuid::new_v4().to_string()))
                    .collect();
                let r = self
                    .send(&key, &missing, "", bearer(admin), body.and_then(json_body))
                    .await;
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{key:?} with unknown ids");
            }

            if op["requestBody"].is_object() {
                let cases: [(&str, Vec<u8>, StatusCode); 4] = [
                    ("application/json", b"{".to_vec(), StatusCode::BAD_REQUEST),
                    (
                        "text/plain",
                        body.unwrap_or("{}").as_bytes().to_vec(),
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    ),
                    (
                        "application/json",
                        br#"{"no_such_field": 1}"#.to_vec(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    ),
                    (
                        "application/json",
                        vec![b' '; 1024 * 1024 + 1],
                        StatusCode::PAYLOAD_TOO_LARGE,
                    ),
                ];
                for (content_type, bytes, expected) in cases {
                    let r = self
                        .send(&key, p, "", bearer(admin), Some((content_type, bytes)))
                        .await;
                    assert_eq!(r.status, expected, "{key:?} sent {content_type}");
                }
            }

            let has_limit = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "limit"));
            if has_limit {
                let r = self.send(&key, p, "limit=0", bearer(admin), None).await;
                assert_eq!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{key:?} limit=0"
                );
                let r = self.send(&key, p, "limit=201", bearer(admin), None).await;
                assert_eq!(
                    r.status,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{key:?} limit=201"
                );
            }
        }
    }

    /// With the database gone, every operation says so (and nothing else).
    pub async fn drive_database_outage(&mut self, admin: &str) {
        self.app.pool().close().await;
        for key in self.operations() {
            let example = self.examples[&key].clone();
            let body = example
                .body
                .as_deref()
                .map(|b| ("application/json", b.as_bytes().to_vec()));
            let r = self
                .send(
                    &key,
                    &example.params,
                    "",
                    Some(format!("Bearer {admin}")),
                    body,
                )
                .await;
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{key:?}");
        }
    }

    /// Every operation exercised, with a success, and every status it lists seen.
    pub fn assert_complete(&self) {
        let mut problems = Vec::new();
        for key in self.operations() {
            let seen = self.seen.get(&key).cloned().unwrap_or_default();
            if !seen.iter().any(|s| (200..300).contains(s)) {
                problems.push(format!("{} {}: never succeeded", key.0, key.1));
            }
            let listed: BTreeSet<u16> = self.operation(&key)["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|s| s.parse().unwrap())
                .collect();
            for status in listed.difference(&seen) {
                problems.push(format!("{} {}: lists {status}, never seen", key.0, key.1));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
