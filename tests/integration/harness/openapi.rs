//! The data API's answers held to its generated OpenAPI document: the
//! status is one the operation documents, the body validates against that
//! answer's schema (the whole document as the schema's root, so that its
//! `$ref`s resolve), an error's code is one the answer's description names,
//! and the documented headers are there.

use std::sync::LazyLock;

use serde_json::Value;

use super::TestResponse;

/// The document the server serves, as the tests read it.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        serde_json::from_str(guichet::api::openapi_json()).expect("the document is JSON")
    });
    &DOCUMENT
}

/// The documented answer an API answer was checked against: the
/// operation (`getTown`, or `PATCH /modules/{module}/data` for a method the
/// path does not declare) and the status.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Documented {
    pub operation: String,
    pub status: u16,
}

/// Panics unless `answer`, the answer to `method` at `path` (as sent:
/// `/api/v1/…`, percent-encoded, with its query), is what the document
/// says that operation answers.
pub fn assert_documented(
    method: &reqwest::Method,
    path: &str,
    answer: &TestResponse,
) -> Documented {
    let document = document();
    let server = document["servers"][0]["url"]
        .as_str()
        .expect("a server URL");
    let relative = path
        .split('?')
        .next()
        .and_then(|path| path.strip_prefix(server))
        .unwrap_or_else(|| panic!("{path} is not under {server}"));
    let template = template_of(document, relative)
        .unwrap_or_else(|| panic!("no path of the document matches {relative}"));
    let item = &document["paths"][template];
    let method_name = method.as_str().to_lowercase();
    let (operation, response) = match item.get(&method_name) {
        Some(operation) => {
            let name = operation["operationId"]
                .as_str()
                .expect("an operationId")
                .to_owned();
            let status = answer.status.to_string();
            let response = operation["responses"].get(&status).unwrap_or_else(|| {
                let documented: Vec<&String> = operation["responses"]
                    .as_object()
                    .map(|responses| responses.keys().collect())
                    .unwrap_or_default();
                panic!(
                    "{method} {path} answered {status}, which {name} does not document ({documented:?}): {}",
                    answer.body
                )
            });
            (name, resolve(document, response))
        }
        // A method the path does not declare: the shared 405.
        None => {
            assert_eq!(
                answer.status, 405,
                "{method} {path}: {template} does not declare {method}: {}",
                answer.body
            );
            (
                format!("{method} {template}"),
                &document["components"]["responses"]["MethodNotAllowed"],
            )
        }
    };
    let context = format!("{method} {path} → {} ({operation})", answer.status);
    assert_body(document, response, answer, &context);
    for (name, header) in response["headers"].as_object().into_iter().flatten() {
        let value = answer
            .header(name)
            .unwrap_or_else(|| panic!("{context}: no {name} header"));
        let header = resolve(document, header);
        let value: Value = if header["schema"]["type"] == "integer" {
            value
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| panic!("{context}: {name} is not an integer: {value}"))
        } else {
            Value::from(value)
        };
        let errors = errors(document, &header["schema"], &value);
        assert!(errors.is_empty(), "{context}: {name}: {value}: {errors:?}");
    }
    Documented {
        operation,
        status: answer.status,
    }
}

/// The body: of a documented media type, valid against its schema; an
/// error's code named by the answer's description.
fn assert_body(document: &Value, response: &Value, answer: &TestResponse, context: &str) {
    let Some(content) = response["content"]
        .as_object()
        .filter(|content| !content.is_empty())
    else {
        assert!(
            answer.body.is_empty(),
            "{context}: a body where none is documented: {}",
            answer.body
        );
        return;
    };
    let media = answer
        .header("content-type")
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .trim();
    let documented = content.get(media).unwrap_or_else(|| {
        panic!("{context}: {media} is not a documented media type: {content:?}")
    });
    if media != "application/json" {
        assert!(!answer.body.is_empty(), "{context}: an empty {media} body");
        return;
    }
    let body: Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|error| panic!("{context}: not JSON ({error}): {}", answer.body));
    let errors = errors(document, &documented["schema"], &body);
    assert!(
        errors.is_empty(),
        "{context}: the body does not match its schema: {errors:?}\n{}",
        answer.body
    );
    if let Some(code) = body["error"]["code"].as_str() {
        let description = response["description"].as_str().unwrap_or_default();
        assert!(
            description.contains(&format!("`{code}`")),
            "{context}: the code {code} is not in the answer's description: {description}"
        );
    }
}

/// What is wrong with `instance` against `schema`, read with the whole
/// document as the root (its `$ref`s point into `#/components`).
pub fn errors(document: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = document.clone();
    // None of the document's own top-level names is a JSON Schema keyword:
    // they are ignored, and `allOf` applies the schema.
    root["allOf"] = Value::Array(vec![schema.clone()]);
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|error| panic!("the schema {schema} does not compile: {error}"));
    validator
        .iter_errors(instance)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}

/// The document's path whose segments match `path`'s (`{…}`: any segment).
fn template_of<'d>(document: &'d Value, path: &str) -> Option<&'d str> {
    let segments: Vec<&str> = path.split('/').collect();
    document["paths"]
        .as_object()?
        .keys()
        .find(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(part, segment)| {
                    (part.starts_with('{') && part.ends_with('}') && !segment.is_empty())
                        || part == segment
                })
        })
        .map(String::as_str)
}

/// `value`, or what its `$ref` points to in the document.
fn resolve<'d>(document: &'d Value, value: &'d Value) -> &'d Value {
    match value["$ref"].as_str() {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| document.pointer(pointer))
            .unwrap_or_else(|| panic!("{reference} does not resolve")),
        None => value,
    }
}

/// Every documented (operation, status) of the document.
pub fn every_documented_answer() -> Vec<Documented> {
    let mut all = Vec::new();
    for item in document()["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, item)| item)
    {
        for operation in item
            .as_object()
            .into_iter()
            .flatten()
            .map(|(_, operation)| operation)
        {
            for status in operation["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, _)| status)
            {
                all.push(Documented {
                    operation: operation["operationId"].as_str().unwrap().to_owned(),
                    status: status.parse().unwrap(),
                });
            }
        }
    }
    all
}
