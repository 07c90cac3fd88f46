//! Reading a submitted form and answering with errors per field.

use crate::{Field, FieldGroup, FieldKind, Form};

/// The fields of a submitted form, as `act` receives them.
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The trimmed value of a field; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.trim())
    }

    /// Whether a checkbox was checked: a checked box is submitted (as
    /// "on"), an unchecked one is absent.
    pub fn checked(&self, name: &str) -> bool {
        !self.get(name).is_empty()
    }

    /// Every value submitted under `name` (several checkboxes may share
    /// one), trimmed, in the form's order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.trim())
    }
}

impl From<Vec<(String, String)>> for Fields {
    fn from(fields: Vec<(String, String)>) -> Self {
        Self(fields)
    }
}

impl Field {
    pub fn new(name: &str, label: &str, kind: FieldKind) -> Self {
        Self {
            name: name.to_owned(),
            label: label.to_owned(),
            kind,
            value: String::new(),
            required: false,
            disabled: false,
            hint: None,
            error: None,
        }
    }

    /// A checkbox, checked or not; submitted as "on" when checked.
    pub fn checkbox(name: &str, label: &str, checked: bool) -> Self {
        Self::new(name, label, FieldKind::Checkbox).value(if checked { "on" } else { "" })
    }

    /// A value sent back with the form, not shown (e.g. the week shown).
    pub fn hidden(name: &str, value: &str) -> Self {
        Self::new(name, "", FieldKind::Hidden).value(value)
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Shown, not operable, not submitted (e.g. a day past its deadline).
    pub fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    /// The value to show: the default, or what the resident typed.
    pub fn value(mut self, value: &str) -> Self {
        self.value = value.to_owned();
        self
    }

    pub fn error(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }
}

impl FieldGroup {
    /// Fields shown together under a legend (a fieldset).
    pub fn new(legend: &str) -> Self {
        Self {
            legend: legend.to_owned(),
            hint: None,
            fields: Vec::new(),
        }
    }

    pub fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }
}

impl Form {
    /// A form submitted to `action` (a staff action in staff views).
    pub fn new(action: &str, submit_label: &str) -> Self {
        Self {
            action: action.to_owned(),
            submit_label: submit_label.to_owned(),
            fields: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// A field shown first, before the groups.
    pub fn field(mut self, field: Field) -> Self {
        self.fields.push(field);
        self
    }

    /// A fieldset, shown after the fields, in order.
    pub fn group(mut self, group: FieldGroup) -> Self {
        self.groups.push(group);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkboxes_are_checked_when_submitted() {
        let fields = Fields(vec![
            ("jour-2026-06-08".to_owned(), "on".to_owned()),
            ("nom".to_owned(), "  Léa ".to_owned()),
            ("jour".to_owned(), "a".to_owned()),
            ("jour".to_owned(), "b".to_owned()),
        ]);
        assert!(fields.checked("jour-2026-06-08"));
        assert!(!fields.checked("jour-2026-06-09"));
        assert_eq!(fields.get("nom"), "Léa");
        assert_eq!(fields.all("jour").collect::<Vec<_>>(), vec!["a", "b"]);
    }

    #[test]
    fn field_builders() {
        let checked = Field::checkbox("jour", "Lundi 8 juin", true).disabled();
        assert_eq!((checked.value.as_str(), checked.disabled), ("on", true));
        assert_eq!(Field::checkbox("jour", "Lundi", false).value, "");
        let hidden = Field::hidden("semaine", "2026-06-08");
        assert_eq!(
            (hidden.kind.clone(), hidden.value.as_str()),
            (FieldKind::Hidden, "2026-06-08")
        );
        let form = Form::new("planning", "Enregistrer").field(hidden).group(
            FieldGroup::new("Semaine du lundi 8 juin")
                .hint("Cochez")
                .field(checked),
        );
        assert_eq!(form.fields.len(), 1);
        assert_eq!(form.groups[0].legend, "Semaine du lundi 8 juin");
        assert_eq!(form.groups[0].fields.len(), 1);
    }
}
