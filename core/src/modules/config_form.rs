//! The configuration form of a module release, generated from the JSON
//! Schema its manifest declares: strings, numbers, integers, booleans,
//! enums (selects), objects (groups), arrays (repeatable groups, added and
//! removed by submit buttons, without JavaScript) and objects whose keys
//! are free (`additionalProperties`: repeatable name/value lines); anything
//! else is edited as JSON text.
//!
//! The form lives as its raw input ([`FormInput`], field name → text), so
//! that a refused value is shown again exactly as typed. Field names are the
//! path of the value under [`ROOT`], dot-separated (`c.brackets.1.up_to`);
//! array and map lines keep their index while the form is edited (removing
//! a line does not renumber the others). [`FormInput::check`] builds the
//! JSON value, validates it against the schema and maps each error (by its
//! instance path) to the field that holds it, with a French message.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Map, Value};

/// The name of the form's root value; every field's name starts with it.
pub const ROOT: &str = "c";
/// The marker field each array or map line carries, so that a line whose
/// fields are all empty (just added) still exists.
const LINE: &str = "_";

/// The raw input of a configuration form: field name → text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormInput(BTreeMap<String, String>);

/// Errors by field name, in French.
pub type FieldErrors = BTreeMap<String, String>;

/// One field of the generated form, ready for the template (every key
/// always present: templates run in strict mode).
#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    pub name: String,
    pub id: String,
    pub label: String,
    pub description: Option<String>,
    pub required: bool,
    /// "text", "integer", "number", "checkbox", "select", "json", "group",
    /// "list".
    pub kind: &'static str,
    pub is_input: bool,
    pub inputmode: Option<&'static str>,
    pub is_checkbox: bool,
    pub is_select: bool,
    pub is_json: bool,
    pub is_group: bool,
    pub is_list: bool,
    pub value: String,
    pub checked: bool,
    pub options: Vec<FormOption>,
    pub error: Option<String>,
    /// The ids of the field's description and error, for
    /// `aria-describedby`.
    pub described_by: Option<String>,
    /// A group's fields.
    pub children: Vec<FormField>,
    /// A list's lines.
    pub items: Vec<FormItem>,
    /// The `_action` value of a list's "Ajouter une ligne" button.
    pub add_action: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One line of a list: its fields and its "Supprimer" button.
#[derive(Debug, Clone, Serialize)]
pub struct FormItem {
    /// The line's marker field.
    pub marker: String,
    pub legend: String,
    pub remove_action: String,
    pub fields: Vec<FormField>,
}

/// What a submitted form asks for, from its `_action` button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormAction {
    Save,
    /// One more line in the list of that name.
    Add(String),
    /// Without the line of that name.
    Remove(String),
}

impl FormAction {
    /// The name of the submit buttons' field.
    pub const FIELD: &'static str = "_action";

    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some(value) if value.starts_with("add:") => Self::Add(value[4..].to_owned()),
            Some(value) if value.starts_with("remove:") => Self::Remove(value[7..].to_owned()),
            _ => Self::Save,
        }
    }
}

/// How a schema is edited.
enum Kind<'a> {
    Text,
    Integer,
    Number,
    Boolean,
    Choice(&'a [Value]),
    Object(&'a Map<String, Value>),
    /// Free keys, each value of this schema.
    Dictionary(&'a Value),
    /// Lines, each of this schema.
    List(&'a Value),
    Json,
}

fn kind(schema: &Value) -> Kind<'_> {
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return Kind::Choice(options);
    }
    let declared = match schema.get("type") {
        Some(Value::String(kind)) => Some(kind.as_str()),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null"),
        _ => None,
    };
    match declared {
        Some("string") => Kind::Text,
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("object") => match (
            schema.get("properties").and_then(Value::as_object),
            schema.get("additionalProperties"),
        ) {
            (Some(properties), _) => Kind::Object(properties),
            (None, Some(values)) if values.is_object() => Kind::Dictionary(values),
            _ => Kind::Json,
        },
        Some("array") => match schema.get("items") {
            Some(items) if items.is_object() => Kind::List(items),
            _ => Kind::Json,
        },
        _ => Kind::Json,
    }
}

fn required_properties(schema: &Value) -> BTreeSet<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn child(name: &str, segment: impl std::fmt::Display) -> String {
    format!("{name}.{segment}")
}

fn pointer_child(pointer: &str, segment: &str) -> String {
    format!(
        "{pointer}/{}",
        segment.replace('~', "~0").replace('/', "~1")
    )
}

/// A value as a form field shows it.
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl FormInput {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        Self(
            pairs
                .into_iter()
                .filter(|(name, _)| name == ROOT || name.starts_with(&format!("{ROOT}.")))
                .collect(),
        )
    }

    /// The form of a configuration as stored.
    pub fn from_config(schema: &Value, config: &Value) -> Self {
        let mut input = Self::default();
        input.flatten(schema, ROOT, config);
        input
    }

    fn flatten(&mut self, schema: &Value, name: &str, value: &Value) {
        match kind(schema) {
            Kind::Boolean => {
                if value.as_bool() == Some(true) {
                    self.0.insert(name.to_owned(), "true".to_owned());
                }
            }
            Kind::Text | Kind::Integer | Kind::Number | Kind::Choice(_) => {
                if !value.is_null() {
                    self.0.insert(name.to_owned(), scalar_text(value));
                }
            }
            Kind::Object(properties) => {
                for (property, property_schema) in properties {
                    if let Some(value) = value.get(property) {
                        self.flatten(property_schema, &child(name, property), value);
                    }
                }
            }
            Kind::Dictionary(values) => {
                if let Some(entries) = value.as_object() {
                    for (index, (key, value)) in entries.iter().enumerate() {
                        let line = child(name, index);
                        self.0.insert(child(&line, LINE), String::new());
                        self.0.insert(child(&line, "key"), key.clone());
                        self.flatten(values, &child(&line, "value"), value);
                    }
                }
            }
            Kind::List(items) => {
                if let Some(lines) = value.as_array() {
                    for (index, value) in lines.iter().enumerate() {
                        let line = child(name, index);
                        self.0.insert(child(&line, LINE), String::new());
                        self.flatten(items, &line, value);
                    }
                }
            }
            Kind::Json => {
                if !value.is_null() {
                    let text = serde_json::to_string_pretty(value).unwrap_or_default();
                    self.0.insert(name.to_owned(), text);
                }
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The indices of the lines of the list (or map) `name`, in order.
    fn lines(&self, name: &str) -> Vec<usize> {
        let prefix = format!("{name}.");
        let found: BTreeSet<usize> = self
            .0
            .range(prefix.clone()..)
            .take_while(|(key, _)| key.starts_with(&prefix))
            .filter_map(|(key, _)| key[prefix.len()..].split('.').next()?.parse().ok())
            .collect();
        found.into_iter().collect()
    }

    /// One more (empty) line in the list `name`.
    pub fn add_line(&mut self, name: &str) {
        let next = self.lines(name).last().map_or(0, |last| last + 1);
        self.0
            .insert(child(&child(name, next), LINE), String::new());
    }

    /// Without the line `name` (e.g. `c.brackets.1`) and what it holds.
    pub fn remove_line(&mut self, name: &str) {
        let prefix = format!("{name}.");
        self.0
            .retain(|key, _| key != name && !key.starts_with(&prefix));
    }

    /// The configuration the form holds, if the schema accepts it whole;
    /// otherwise the error of each refused field.
    pub fn check(&self, schema: &Value) -> Result<Value, FieldErrors> {
        let mut built = Built::default();
        let value = self
            .build(schema, ROOT, "", &mut built)
            .unwrap_or_else(|| Value::Object(Map::new()));
        let validator = match jsonschema::validator_for(schema) {
            Ok(validator) => validator,
            Err(_) => {
                built.errors.insert(
                    ROOT.to_owned(),
                    "Le schéma de configuration de ce module est invalide : signalez-le à son éditeur."
                        .to_owned(),
                );
                return Err(built.errors);
            }
        };
        for error in validator.iter_errors(&value) {
            let pointer = error.instance_path().to_string();
            let (place, message) = french(error.kind(), &pointer);
            let field = built.field_of(&place);
            // A field's own input error (not a number…) says more than
            // what the schema makes of its absence.
            built.errors.entry(field).or_insert(message);
        }
        if built.errors.is_empty() {
            Ok(value)
        } else {
            Err(built.errors)
        }
    }

    fn build(&self, schema: &Value, name: &str, pointer: &str, built: &mut Built) -> Option<Value> {
        built.fields.insert(pointer.to_owned(), name.to_owned());
        let text = self.get(name).unwrap_or_default();
        let mut refuse = |message: &str| {
            built.errors.insert(name.to_owned(), message.to_owned());
            None
        };
        match kind(schema) {
            Kind::Text => (!text.is_empty()).then(|| Value::String(text.to_owned())),
            Kind::Integer => match text.trim() {
                "" => None,
                digits => match digits.parse::<i64>() {
                    Ok(number) => Some(Value::from(number)),
                    Err(_) => refuse("Saisissez un nombre entier, en chiffres (par exemple 12)."),
                },
            },
            Kind::Number => match text.trim() {
                "" => None,
                digits => match digits
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                {
                    Some(number) => Some(Value::Number(number)),
                    None => refuse("Saisissez un nombre, en chiffres (par exemple 12,5)."),
                },
            },
            Kind::Boolean => Some(Value::Bool(self.get(name).is_some())),
            Kind::Choice(options) => {
                if text.is_empty() {
                    return None;
                }
                Some(
                    options
                        .iter()
                        .find(|option| scalar_text(option) == text)
                        .cloned()
                        .unwrap_or_else(|| Value::String(text.to_owned())),
                )
            }
            Kind::Object(properties) => {
                let mut object = Map::new();
                for (property, property_schema) in properties {
                    if let Some(value) = self.build(
                        property_schema,
                        &child(name, property),
                        &pointer_child(pointer, property),
                        built,
                    ) {
                        object.insert(property.clone(), value);
                    }
                }
                Some(Value::Object(object))
            }
            Kind::Dictionary(values) => {
                let mut object = Map::new();
                for index in self.lines(name) {
                    let line = child(name, index);
                    let key_name = child(&line, "key");
                    let key = self.get(&key_name).unwrap_or_default().trim().to_owned();
                    let value_name = child(&line, "value");
                    let empty = self.get(&value_name).is_none_or(str::is_empty);
                    if key.is_empty() {
                        if !empty {
                            built
                                .errors
                                .insert(key_name, "Saisissez un nom pour cette valeur.".to_owned());
                        }
                        continue;
                    }
                    if object.contains_key(&key) {
                        built.errors.insert(
                            key_name,
                            "Ce nom figure déjà sur une autre ligne.".to_owned(),
                        );
                        continue;
                    }
                    let value_pointer = pointer_child(pointer, &key);
                    match self.build(values, &value_name, &value_pointer, built) {
                        Some(value) => {
                            object.insert(key, value);
                        }
                        None if !built.errors.contains_key(&value_name) => {
                            built
                                .errors
                                .insert(value_name, "Ce champ est obligatoire.".to_owned());
                        }
                        None => {}
                    }
                }
                // No line at all: absent (a required one says so).
                (!object.is_empty()).then_some(Value::Object(object))
            }
            Kind::List(items) => {
                let mut lines = Vec::new();
                for index in self.lines(name) {
                    let line_pointer = pointer_child(pointer, &lines.len().to_string());
                    if let Some(value) =
                        self.build(items, &child(name, index), &line_pointer, built)
                    {
                        lines.push(value);
                    }
                }
                Some(Value::Array(lines))
            }
            Kind::Json => {
                if text.trim().is_empty() {
                    return None;
                }
                match serde_json::from_str(text) {
                    Ok(value) => Some(value),
                    Err(_) => refuse("Saisissez une valeur JSON valide."),
                }
            }
        }
    }

    /// The form's fields, with the input and the errors.
    pub fn fields(&self, schema: &Value, errors: &FieldErrors) -> Vec<FormField> {
        let root = self.field(schema, ROOT, "Configuration", true, errors);
        if root.is_group {
            root.children
        } else {
            vec![root]
        }
    }

    fn field(
        &self,
        schema: &Value,
        name: &str,
        fallback_label: &str,
        required: bool,
        errors: &FieldErrors,
    ) -> FormField {
        let text = |key: &str| schema.get(key).and_then(Value::as_str).map(str::to_owned);
        let mut field = FormField {
            name: name.to_owned(),
            id: name.replace('.', "-"),
            label: text("title").unwrap_or_else(|| humanize(fallback_label)),
            description: text("description"),
            required,
            kind: "text",
            is_input: false,
            inputmode: None,
            is_checkbox: false,
            is_select: false,
            is_json: false,
            is_group: false,
            is_list: false,
            value: self.get(name).unwrap_or_default().to_owned(),
            checked: false,
            options: Vec::new(),
            error: errors.get(name).cloned(),
            described_by: None,
            children: Vec::new(),
            items: Vec::new(),
            add_action: String::new(),
        };
        match kind(schema) {
            Kind::Text => field.is_input = true,
            Kind::Integer => {
                field.kind = "integer";
                field.is_input = true;
                field.inputmode = Some("numeric");
            }
            Kind::Number => {
                field.kind = "number";
                field.is_input = true;
                field.inputmode = Some("decimal");
            }
            Kind::Boolean => {
                field.kind = "checkbox";
                field.is_checkbox = true;
                field.checked = self.get(name).is_some();
            }
            Kind::Choice(options) => {
                field.kind = "select";
                field.is_select = true;
                let titles = schema.get("x-titles").and_then(Value::as_object);
                field.options = std::iter::once(FormOption {
                    value: String::new(),
                    label: "— Choisir —".to_owned(),
                    selected: field.value.is_empty(),
                })
                .chain(options.iter().map(|option| {
                    let value = scalar_text(option);
                    FormOption {
                        label: titles
                            .and_then(|titles| titles.get(&value))
                            .and_then(Value::as_str)
                            .map_or_else(|| value.clone(), str::to_owned),
                        selected: value == field.value,
                        value,
                    }
                }))
                .collect();
            }
            Kind::Object(properties) => {
                field.kind = "group";
                field.is_group = true;
                let required = required_properties(schema);
                field.children = properties
                    .iter()
                    .map(|(property, property_schema)| {
                        self.field(
                            property_schema,
                            &child(name, property),
                            property,
                            required.contains(property.as_str()),
                            errors,
                        )
                    })
                    .collect();
            }
            Kind::Dictionary(values) => {
                field.kind = "list";
                field.is_list = true;
                field.add_action = format!("add:{name}");
                field.items = self
                    .lines(name)
                    .into_iter()
                    .enumerate()
                    .map(|(position, index)| {
                        let line = child(name, index);
                        let mut key = self.field(
                            &serde_json::json!({"type": "string"}),
                            &child(&line, "key"),
                            "Nom",
                            true,
                            errors,
                        );
                        key.label = "Nom".to_owned();
                        let mut value =
                            self.field(values, &child(&line, "value"), "Valeur", true, errors);
                        if value.label.is_empty() {
                            value.label = "Valeur".to_owned();
                        }
                        self.item(&field.label, position, &line, vec![key, value])
                    })
                    .collect();
            }
            Kind::List(items) => {
                field.kind = "list";
                field.is_list = true;
                field.add_action = format!("add:{name}");
                field.items = self
                    .lines(name)
                    .into_iter()
                    .enumerate()
                    .map(|(position, index)| {
                        let line = child(name, index);
                        let inner = self.field(items, &line, "Valeur", true, errors);
                        let fields = if inner.is_group {
                            inner.children.clone()
                        } else {
                            vec![inner.clone()]
                        };
                        let mut item = self.item(&field.label, position, &line, fields);
                        // A line's own error (e.g. a missing key) shows
                        // with its first field.
                        if inner.is_group
                            && let (Some(error), Some(first)) =
                                (inner.error, item.fields.first_mut())
                            && first.error.is_none()
                        {
                            first.error = Some(error);
                        }
                        item
                    })
                    .collect();
            }
            Kind::Json => {
                field.kind = "json";
                field.is_json = true;
            }
        }
        let described: Vec<String> = [
            field
                .description
                .as_ref()
                .map(|_| format!("{}-aide", field.id)),
            field.error.as_ref().map(|_| format!("{}-erreur", field.id)),
        ]
        .into_iter()
        .flatten()
        .collect();
        field.described_by = (!described.is_empty()).then(|| described.join(" "));
        field
    }

    fn item(&self, list: &str, position: usize, line: &str, fields: Vec<FormField>) -> FormItem {
        FormItem {
            marker: child(line, LINE),
            legend: format!("{list} — ligne {}", position + 1),
            remove_action: format!("remove:{line}"),
            fields,
        }
    }
}

/// Where the form's values are, by their place in the built value.
#[derive(Default)]
struct Built {
    /// JSON pointer → field name.
    fields: BTreeMap<String, String>,
    errors: FieldErrors,
}

impl Built {
    /// The field of a JSON pointer, or of its nearest known parent.
    fn field_of(&self, pointer: &str) -> String {
        let mut place = pointer;
        loop {
            if let Some(name) = self.fields.get(place) {
                return name.clone();
            }
            match place.rfind('/') {
                Some(end) => place = &place[..end],
                None => return ROOT.to_owned(),
            }
        }
    }
}

/// A property's name as a label, when the schema gives no title:
/// "default_days" → "Default days".
fn humanize(name: &str) -> String {
    let spaced = name.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

fn limit_text(limit: &Value) -> String {
    scalar_text(limit).replace('.', ",")
}

/// A validation error in French, and the place (JSON pointer) of the field
/// it belongs to.
fn french(kind: &jsonschema::error::ValidationErrorKind, pointer: &str) -> (String, String) {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let here = pointer.to_owned();
    let message = match kind {
        K::Required { property } => {
            let property = property.as_str().unwrap_or_default();
            return (
                pointer_child(pointer, property),
                "Ce champ est obligatoire.".to_owned(),
            );
        }
        K::Type { kind } => {
            let kinds: Vec<&str> = match kind {
                TypeKind::Single(kind) => vec![type_name(&kind.to_string())],
                TypeKind::Multiple(kinds) => kinds
                    .iter()
                    .map(|kind| type_name(&kind.to_string()))
                    .collect(),
            };
            format!("Cette valeur doit être {}.", kinds.join(" ou "))
        }
        K::Minimum { limit } => format!("La valeur minimale est {}.", limit_text(limit)),
        K::Maximum { limit } => format!("La valeur maximale est {}.", limit_text(limit)),
        K::ExclusiveMinimum { limit } => {
            format!("La valeur doit être supérieure à {}.", limit_text(limit))
        }
        K::ExclusiveMaximum { limit } => {
            format!("La valeur doit être inférieure à {}.", limit_text(limit))
        }
        K::MinLength { limit: 1 } => "Ce champ ne peut pas être vide.".to_owned(),
        K::MinLength { limit } => format!("Saisissez au moins {limit} caractères."),
        K::MaxLength { limit } => format!("Saisissez au plus {limit} caractères."),
        K::Pattern { pattern } => {
            format!("Ce texte n'a pas la forme attendue (modèle : {pattern}).")
        }
        K::Enum { .. } | K::Constant { .. } => "Choisissez une des valeurs proposées.".to_owned(),
        K::MinItems { limit: 1 } => "Ajoutez au moins une ligne.".to_owned(),
        K::MinItems { limit } => format!("Ajoutez au moins {limit} lignes."),
        K::MaxItems { limit } => format!("Pas plus de {limit} lignes."),
        K::UniqueItems => "Chaque ligne doit être différente des autres.".to_owned(),
        K::AdditionalProperties { unexpected } => {
            format!("Champs inconnus de ce module : {}.", unexpected.join(", "))
        }
        K::MultipleOf { .. } => "Cette valeur n'est pas un multiple accepté.".to_owned(),
        K::Format { format } => format!("Le format n'est pas valide ({format})."),
        _ => "Cette valeur n'est pas acceptée.".to_owned(),
    };
    (here, message)
}

fn type_name(kind: &str) -> &'static str {
    match kind {
        "string" => "un texte",
        "integer" => "un nombre entier",
        "number" => "un nombre",
        "boolean" => "vrai ou faux",
        "array" => "une liste",
        "object" => "un groupe de champs",
        "null" => "vide",
        _ => "d'un autre type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tariffs() -> Value {
        json!({
            "type": "object",
            "properties": {
                "brackets": {
                    "type": "array", "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {
                            "up_to": { "type": "integer", "minimum": 0 },
                            "prices": { "type": "object", "additionalProperties": { "type": "integer", "minimum": 0 } }
                        },
                        "required": ["prices"]
                    }
                },
                "default_days": { "type": "integer", "minimum": 1, "maximum": 31 }
            },
            "required": ["brackets"]
        })
    }

    #[test]
    fn a_configuration_survives_the_round_trip_through_the_form() {
        let config = json!({
            "brackets": [
                { "up_to": 600, "prices": { "cantine": 100, "garderie": 90 } },
                { "prices": { "cantine": 520 } }
            ],
            "default_days": 14
        });
        let input = FormInput::from_config(&tariffs(), &config);
        assert_eq!(input.check(&tariffs()).unwrap(), config);
    }

    #[test]
    fn errors_land_on_their_fields_in_french() {
        let mut input = FormInput::from_config(
            &tariffs(),
            &json!({ "brackets": [{ "up_to": 1, "prices": { "cantine": 1 } }] }),
        );
        input.0.insert("c.default_days".into(), "40".into());
        input.0.insert("c.brackets.0.up_to".into(), "douze".into());
        input
            .0
            .insert("c.brackets.0.prices.0.value".into(), "-3".into());
        let errors = input.check(&tariffs()).unwrap_err();
        assert_eq!(errors["c.default_days"], "La valeur maximale est 31.");
        assert!(errors["c.brackets.0.up_to"].contains("nombre entier"));
        assert_eq!(
            errors["c.brackets.0.prices.0.value"],
            "La valeur minimale est 0."
        );
    }

    #[test]
    fn lines_are_added_and_removed_and_an_empty_list_is_refused() {
        let mut input = FormInput::from_config(
            &tariffs(),
            &json!({ "brackets": [{ "prices": { "cantine": 1 } }] }),
        );
        input.add_line("c.brackets");
        let fields = input.fields(&tariffs(), &FieldErrors::new());
        assert_eq!(fields[0].items.len(), 2);
        input.remove_line("c.brackets.0");
        input.remove_line("c.brackets.1");
        let errors = input.check(&tariffs()).unwrap_err();
        assert_eq!(errors["c.brackets"], "Ajoutez au moins une ligne.");
    }
}
