//! Text the databases can hold. PostgreSQL refuses the NUL character in
//! text and JSON while SQLite would store it, so every operation, over HTTP
//! or a socket, is checked for it once parsed, before anything runs: in
//! string literals, in arguments and directives anywhere in the document,
//! and in the variables. Both backends answer the same `BAD_USER_INPUT`.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerResult, Value, Variables};

use super::errors::{CODE_BAD_USER_INPUT, coded_error};

/// The extension that refuses unstorable text.
pub struct StorableText;

impl ExtensionFactory for StorableText {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(StorableText)
    }
}

#[async_trait::async_trait]
impl Extension for StorableText {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let in_variables = variables.iter().any(|(_, value)| holds_nul(value));
        let in_document = document
            .operations
            .iter()
            .any(|(_, operation)| set_holds_nul(&operation.node.selection_set.node))
            || document
                .fragments
                .values()
                .any(|fragment| set_holds_nul(&fragment.node.selection_set.node));
        if in_variables || in_document {
            return Err(coded_error(
                "text must not contain the NUL character (U+0000)",
                CODE_BAD_USER_INPUT,
            ));
        }
        Ok(document)
    }
}

/// Whether any argument or directive argument of the set's fields holds a
/// NUL (variables in them are read as null here: they are checked apart).
fn set_holds_nul(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            let field = &field.node;
            let directive_arguments = field
                .directives
                .iter()
                .flat_map(|d| d.node.arguments.iter());
            field
                .arguments
                .iter()
                .chain(directive_arguments)
                .any(|(_, literal)| {
                    literal
                        .node
                        .clone()
                        .into_const_with(|_| Ok::<_, std::convert::Infallible>(Value::Null))
                        .is_ok_and(|value| holds_nul(&value))
                })
                || set_holds_nul(&field.selection_set.node)
        }
        Selection::InlineFragment(fragment) => set_holds_nul(&fragment.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::List(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}
