//! `/api/v1/documentation`: the OpenAPI document as a French page, for the
//! towns' developers. Rendered once from the generated document's JSON
//! (never a second description to keep in step): the introduction, the key,
//! each operation by tag (parameters, body, answers with their error codes
//! and headers), the shared answers and the schemas. Plain HTML, no script,
//! no inline style (the CSP forbids both): the stylesheet is the default
//! theme's `api-reference.css`.

use std::fmt::Write as _;
use std::sync::LazyLock;

use serde_json::Value;

use super::BASE;

/// The page, rendered once.
pub fn page() -> &'static str {
    static PAGE: LazyLock<String> = LazyLock::new(|| {
        let document = serde_json::from_str(super::doc::json()).unwrap_or(Value::Null);
        render(&document)
    });
    &PAGE
}

const METHODS: [&str; 4] = ["get", "put", "post", "delete"];

fn render(document: &Value) -> String {
    let title = text(&document["info"]["title"]);
    let mut html = String::with_capacity(64 * 1024);
    html.push_str("<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(html, "<title>Documentation — {}</title>", escape(title));
    html.push_str(
        "<link rel=\"stylesheet\" href=\"/static/api-reference.css\">\n</head>\n<body>\n",
    );
    html.push_str("<a class=\"skip-link\" href=\"#contenu\">Aller au contenu</a>\n");
    html.push_str("<main id=\"contenu\">\n");
    let _ = writeln!(html, "<h1>{}</h1>", escape(title));
    let _ = writeln!(
        html,
        "<p class=\"version\">Version {} — document OpenAPI {} : <a href=\"{BASE}/openapi.json\"><code>{BASE}/openapi.json</code></a></p>",
        escape(text(&document["info"]["version"])),
        escape(text(&document["openapi"])),
    );
    let _ = writeln!(
        html,
        "<p>{}</p>",
        inline(text(&document["info"]["description"]))
    );

    let tags = tags(document);
    contents(&mut html, document, &tags);
    authentication(&mut html, document);
    for (name, description) in &tags {
        let _ = writeln!(
            html,
            "<section aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">{}</h2>",
            escape(name),
            id = anchor("tag", name)
        );
        if !description.is_empty() {
            let _ = writeln!(html, "<p>{}</p>", inline(description));
        }
        for (path, method, operation) in operations(document) {
            if first_tag(operation) == name.as_str() {
                render_operation(&mut html, document, path, method, operation);
            }
        }
        html.push_str("</section>\n");
    }
    shared_responses(&mut html, document);
    schemas(&mut html, document);
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

/// The document's tags, in its order, with their descriptions.
fn tags(document: &Value) -> Vec<(String, String)> {
    document["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|tag| {
            (
                text(&tag["name"]).to_owned(),
                text(&tag["description"]).to_owned(),
            )
        })
        .collect()
}

/// Every operation: path, method, operation.
fn operations(document: &Value) -> Vec<(&str, &str, &Value)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                found.push((path.as_str(), method, operation));
            }
        }
    }
    found
}

fn first_tag(operation: &Value) -> &str {
    text(&operation["tags"][0])
}

fn operation_anchor(operation: &Value) -> String {
    anchor("operation", text(&operation["operationId"]))
}

fn contents(html: &mut String, document: &Value, tags: &[(String, String)]) {
    html.push_str("<nav aria-labelledby=\"sommaire\">\n<h2 id=\"sommaire\">Sommaire</h2>\n<ul>\n");
    html.push_str("<li><a href=\"#authentification\">Authentification</a></li>\n");
    for (name, _) in tags {
        let _ = writeln!(
            html,
            "<li><a href=\"#{}\">{}</a>\n<ul>",
            anchor("tag", name),
            escape(name)
        );
        for (path, method, operation) in operations(document) {
            if first_tag(operation) == name.as_str() {
                let _ = writeln!(
                    html,
                    "<li><a href=\"#{}\"><span class=\"methode\">{}</span> <code>{}</code> — {}</a></li>",
                    operation_anchor(operation),
                    method.to_uppercase(),
                    escape(path),
                    escape(text(&operation["summary"])),
                );
            }
        }
        html.push_str("</ul></li>\n");
    }
    html.push_str("<li><a href=\"#reponses-communes\">Réponses communes</a></li>\n");
    html.push_str("<li><a href=\"#schemas\">Schémas</a></li>\n</ul>\n</nav>\n");
}

fn authentication(html: &mut String, document: &Value) {
    html.push_str("<section aria-labelledby=\"authentification\">\n<h2 id=\"authentification\">Authentification</h2>\n");
    for (name, scheme) in document["components"]["securitySchemes"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let _ = writeln!(
            html,
            "<p><code>{}</code> : HTTP <code>{}</code>. {}</p>",
            escape(name),
            escape(text(&scheme["scheme"])),
            inline(text(&scheme["description"]))
        );
    }
    html.push_str("<p>Toutes les opérations demandent la clé, sauf celles qui disent le contraire.</p>\n</section>\n");
}

fn render_operation(
    html: &mut String,
    document: &Value,
    path: &str,
    method: &str,
    operation: &Value,
) {
    let id = operation_anchor(operation);
    let _ = writeln!(
        html,
        "<section class=\"operation\" aria-labelledby=\"{id}\">\n<h3 id=\"{id}\"><span class=\"methode\">{}</span> <code>{}{}</code></h3>",
        method.to_uppercase(),
        BASE,
        escape(path),
    );
    let _ = writeln!(
        html,
        "<p class=\"resume\">{}</p>",
        inline(text(&operation["summary"]))
    );
    let description = text(&operation["description"]);
    if !description.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", inline(description));
    }
    let open = operation["security"].as_array().is_some_and(Vec::is_empty);
    let _ = writeln!(
        html,
        "<p>Clé d'API : {}. Identifiant de l'opération : <code>{}</code>.</p>",
        if open { "non requise" } else { "requise" },
        escape(text(&operation["operationId"]))
    );

    if let Some(parameters) = operation["parameters"].as_array() {
        let _ = writeln!(html, "<h4>Paramètres</h4>");
        table_start(
            html,
            &format!("Paramètres de {} {}", method.to_uppercase(), path),
            &[
                "Nom",
                "Emplacement",
                "Requis",
                "Type et contraintes",
                "Description",
            ],
        );
        for parameter in parameters {
            let _ = writeln!(
                html,
                "<tr><th scope=\"row\"><code>{}</code></th><td data-label=\"Emplacement\">{}</td><td data-label=\"Requis\">{}</td><td data-label=\"Type et contraintes\">{}</td><td data-label=\"Description\">{}</td></tr>",
                escape(text(&parameter["name"])),
                place(text(&parameter["in"])),
                yes_no(parameter["required"].as_bool().unwrap_or(false)),
                schema_summary(&parameter["schema"]),
                inline(text(&parameter["description"])),
            );
        }
        table_end(html);
    }

    if let Some(body) = operation.get("requestBody") {
        let _ = writeln!(html, "<h4>Corps de la requête</h4>");
        let description = text(&body["description"]);
        let _ = writeln!(
            html,
            "<p>{}{}{}</p>",
            if body["required"].as_bool().unwrap_or(false) {
                "Requis. "
            } else {
                "Facultatif. "
            },
            inline(description),
            content_summary(&body["content"]),
        );
    }

    let _ = writeln!(html, "<h4>Réponses</h4>");
    table_start(
        html,
        &format!("Réponses de {} {}", method.to_uppercase(), path),
        &["Statut", "Description", "Corps", "En-têtes"],
    );
    let mut responses: Vec<(&String, &Value)> = operation["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .collect();
    responses.sort_by_key(|(status, _)| *status);
    for (status, response) in responses {
        let response = resolve(document, response);
        response_row(html, document, status, response);
    }
    table_end(html);
    html.push_str("</section>\n");
}

fn response_row(html: &mut String, document: &Value, status: &str, response: &Value) {
    let _ = writeln!(
        html,
        "<tr><th scope=\"row\">{}</th><td data-label=\"Description\">{}</td><td data-label=\"Corps\">{}</td><td data-label=\"En-têtes\">{}</td></tr>",
        escape(status),
        inline(text(&response["description"])),
        content_summary(&response["content"]).trim_start_matches(' '),
        headers(document, &response["headers"]),
    );
}

fn shared_responses(html: &mut String, document: &Value) {
    html.push_str("<section aria-labelledby=\"reponses-communes\">\n<h2 id=\"reponses-communes\">Réponses communes</h2>\n");
    html.push_str("<p>Réponses que plusieurs opérations partagent ; <code>MethodNotAllowed</code> est celle de toute adresse de l'API appelée avec une méthode qu'elle ne déclare pas.</p>\n");
    table_start(
        html,
        "Réponses communes",
        &["Nom", "Description", "Corps", "En-têtes"],
    );
    for (name, response) in document["components"]["responses"]
        .as_object()
        .into_iter()
        .flatten()
    {
        response_row(html, document, name, response);
    }
    table_end(html);
    html.push_str("</section>\n");
}

fn schemas(html: &mut String, document: &Value) {
    html.push_str("<section aria-labelledby=\"schemas\">\n<h2 id=\"schemas\">Schémas</h2>\n");
    for (name, schema) in document["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
    {
        let id = anchor("schema", name);
        let _ = writeln!(html, "<h3 id=\"{id}\"><code>{}</code></h3>", escape(name));
        object(html, name, schema, 0);
    }
    html.push_str("</section>\n");
}

/// An object schema's description and its properties' table; an inline
/// object property gets its own table after it.
fn object(html: &mut String, name: &str, schema: &Value, depth: usize) {
    let description = text(&schema["description"]);
    if !description.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", inline(description));
    }
    let Some(properties) = schema["properties"].as_object() else {
        let _ = writeln!(html, "<p>{}</p>", schema_summary(schema));
        return;
    };
    if schema["additionalProperties"] == Value::Bool(false) {
        html.push_str("<p>Aucun autre champ n'est accepté.</p>\n");
    }
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    table_start(
        html,
        &format!("Champs de {name}"),
        &["Champ", "Requis", "Type et contraintes", "Description"],
    );
    let mut nested = Vec::new();
    for (field, property) in properties {
        let _ = writeln!(
            html,
            "<tr><th scope=\"row\"><code>{}</code></th><td data-label=\"Requis\">{}</td><td data-label=\"Type et contraintes\">{}</td><td data-label=\"Description\">{}</td></tr>",
            escape(field),
            yes_no(required.contains(&field.as_str())),
            schema_summary(property),
            inline(text(&property["description"])),
        );
        if property.get("properties").is_some() && depth < 2 {
            nested.push((format!("{name}.{field}"), property));
        }
    }
    table_end(html);
    for (name, property) in nested {
        let _ = writeln!(html, "<p>Champs de <code>{}</code> :</p>", escape(&name));
        object(html, &name, property, depth + 1);
    }
}

/// A schema in a table cell: its type (a link for a named one), its
/// values and constraints.
fn schema_summary(schema: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!(
            "<a href=\"#{}\"><code>{}</code></a>",
            anchor("schema", name),
            escape(name)
        );
    }
    let mut parts = Vec::new();
    let types: Vec<&str> = match &schema["type"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut kind = if types.is_empty() {
        "toute valeur JSON".to_owned()
    } else {
        types
            .iter()
            .map(|kind| type_name(kind))
            .collect::<Vec<_>>()
            .join(" ou ")
    };
    if types.contains(&"array") {
        kind = format!("{kind} de {}", schema_summary(&schema["items"]));
    }
    parts.push(kind);
    if let Some(values) = schema["enum"].as_array() {
        let values: Vec<String> = values
            .iter()
            .map(|value| format!("<code>{}</code>", escape(&value.to_string())))
            .collect();
        parts.push(format!("valeurs : {}", values.join(", ")));
    }
    for (key, label) in [
        ("format", "format"),
        ("minLength", "longueur minimale"),
        ("maxLength", "longueur maximale"),
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("minItems", "éléments au moins"),
        ("maxItems", "éléments au plus"),
        ("default", "par défaut"),
        ("pattern", "motif"),
    ] {
        if let Some(value) = schema.get(key) {
            let shown = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{label} : <code>{}</code>", escape(&shown)));
        }
    }
    parts.join(" ; ")
}

fn type_name(kind: &str) -> &str {
    match kind {
        "string" => "texte",
        "integer" => "entier",
        "number" => "nombre",
        "boolean" => "booléen",
        "array" => "liste",
        "object" => "objet",
        "null" => "null",
        other => other,
    }
}

/// The media types of a body and their schemas.
fn content_summary(content: &Value) -> String {
    let parts: Vec<String> = content
        .as_object()
        .into_iter()
        .flatten()
        .map(|(media, content)| {
            format!(
                " <code>{}</code> : {}",
                escape(media),
                schema_summary(&content["schema"])
            )
        })
        .collect();
    parts.concat()
}

fn headers(document: &Value, headers: &Value) -> String {
    headers
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, header)| {
            let header = resolve(document, header);
            format!(
                "<code>{}</code> ({}) : {}",
                escape(name),
                schema_summary(&header["schema"]),
                inline(text(&header["description"]))
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// `value`, or what its `$ref` points to in the document.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => reference
            .strip_prefix('#')
            .and_then(|pointer| document.pointer(pointer))
            .unwrap_or(value),
        None => value,
    }
}

fn table_start(html: &mut String, caption: &str, columns: &[&str]) {
    // On a phone each row is a card of labelled values (each cell carries
    // its column's name in data-label, as the theme's tables do); the box
    // scrolls, reachable from the keyboard, only if a value is wider still.
    let _ = write!(
        html,
        "<div class=\"defilement\" role=\"region\" aria-label=\"{}\" tabindex=\"0\">\n<table>\n<caption>{}</caption>\n<thead><tr>",
        escape(caption),
        escape(caption)
    );
    for column in columns {
        let _ = write!(html, "<th scope=\"col\">{column}</th>");
    }
    html.push_str("</tr></thead>\n<tbody>\n");
}

fn table_end(html: &mut String) {
    html.push_str("</tbody>\n</table>\n</div>\n");
}

fn place(location: &str) -> &str {
    match location {
        "path" => "chemin",
        "query" => "requête",
        "header" => "en-tête",
        other => other,
    }
}

fn yes_no(yes: bool) -> &'static str {
    if yes { "oui" } else { "non" }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// An id for an anchor: the prefix and the name's letters and digits.
fn anchor(prefix: &str, name: &str) -> String {
    let slug: String = deunicode::deunicode(name)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}-{slug}")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// The descriptions' only markup: `code` between backticks.
fn inline(text: &str) -> String {
    text.split('`')
        .enumerate()
        .map(|(index, part)| {
            if index % 2 == 1 {
                format!("<code>{}</code>", escape(part))
            } else {
                escape(part)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_escaped_and_code_is_marked() {
        assert_eq!(
            inline("a <b> `x<y>` c"),
            "a &lt;b&gt; <code>x&lt;y&gt;</code> c"
        );
    }

    #[test]
    fn the_page_lists_every_operation_of_the_document() {
        let page = page();
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"fr\">"));
        let document: Value = serde_json::from_str(super::super::doc::json()).unwrap();
        for (path, method, _) in operations(&document) {
            let heading = format!(
                "<span class=\"methode\">{}</span> <code>{BASE}{}</code></h3>",
                method.to_uppercase(),
                escape(path)
            );
            assert!(page.contains(&heading), "{heading}");
        }
        assert!(!page.contains("style="), "the CSP forbids inline styles");
        assert!(!page.contains("<script"), "no script");
    }
}
