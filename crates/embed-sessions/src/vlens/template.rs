//! The template fields of a contract type, as a recursive tree.

use super::types;
use crate::core::error::Error;

/// A contract (business request) type and its fields. Serializes in camelCase.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFields {
    /// The request type id.
    pub id: Option<i64>,
    /// The request type's name.
    pub name: Option<String>,
    /// Top-level fields; each may nest further fields in [`TemplateField::children`].
    pub fields: Vec<TemplateField>,
}

/// One template field and the fields that depend on it. Serializes in camelCase.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TemplateField {
    /// The key to use in an invitation's pre-filled values.
    pub key: Option<String>,
    /// Label (English).
    pub display_text: Option<String>,
    /// Field type (text, dropdown, date, table, ...).
    pub field_type: Option<String>,
    /// Allowed values of a dropdown.
    pub available_values: Vec<String>,
    /// Key of the field this one depends on.
    pub parent_question_key: Option<String>,
    /// `relatedQuestions`, plus the questions opened by each available value.
    pub children: Vec<TemplateField>,
}

impl TemplateField {
    fn from_raw(f: types::TemplateField) -> Self {
        let mut children: Vec<TemplateField> =
            f.related_questions.unwrap_or_default().into_iter().map(Self::from_raw).collect();
        for item in f.available_values_items.unwrap_or_default() {
            children
                .extend(item.related_questions.unwrap_or_default().into_iter().map(Self::from_raw));
        }
        Self {
            key: f.key,
            display_text: f.display_text,
            field_type: f.type_,
            available_values: f.available_values.unwrap_or_default(),
            parent_question_key: f.parent_question_key,
            children,
        }
    }

    fn collect_keys<'a>(&'a self, out: &mut Vec<&'a str>) {
        if let Some(k) = &self.key {
            out.push(k);
        }
        for c in &self.children {
            c.collect_keys(out);
        }
    }
}

impl TemplateFields {
    pub(super) fn from_raw(t: types::RequestTypeTemplate) -> Self {
        Self {
            id: t.id,
            name: t.name,
            fields: t
                .requests_fields
                .unwrap_or_default()
                .into_iter()
                .map(TemplateField::from_raw)
                .collect(),
        }
    }

    /// Every field key at any depth, in document order.
    pub fn keys(&self) -> Vec<&str> {
        let mut out = Vec::new();
        for f in &self.fields {
            f.collect_keys(&mut out);
        }
        out
    }

    /// Whether `key` exists at any depth.
    pub fn contains_key(&self, key: &str) -> bool {
        self.keys().contains(&key)
    }

    /// Checks that every key exists in the template; the error names the first unknown one.
    pub fn check_keys<'k>(&self, keys: impl IntoIterator<Item = &'k str>) -> Result<(), Error> {
        let known = self.keys();
        for key in keys {
            if !known.contains(&key) {
                return Err(Error::invalid_input(
                    "field",
                    format!(
                        "`{key}` is not a field of request type {}; known keys: {}",
                        self.id.map_or("?".into(), |i| i.to_string()),
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}
