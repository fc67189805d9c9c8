//! Checks of personal data declarations: `#[batpak(personal)]` on fields of
//! type `Personal<T>` (and every such field declared), and at most one
//! `#[batpak(subject)]` per event, on a field whose value names a subject.

use crate::ctxt::Ctxt;
use crate::model::Field;
use quote::ToTokens;
use syn::Type;

/// Types a subject field may have: their `to_string()` names the subject.
const SUBJECT_TYPES: &[&str] = &["String", "u16", "u32", "u64", "u128", "i32", "i64"];

/// The last path segment of a type, as written (`Personal` for
/// `batpak::Personal<String>`).
fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// A type as written, without the spaces token streams print (`Vec<u8>`).
fn shown(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace(" ,", ",")
}

fn is_personal(ty: &Type) -> bool {
    last_segment(ty).as_deref() == Some("Personal")
}

/// Every `personal` field is a `Personal<T>`, and every `Personal<T>` field
/// says so.
pub(crate) fn check_personal(cx: &Ctxt, fields: &[Field]) {
    for f in fields {
        match (&f.attrs.personal, is_personal(f.ty)) {
            (Some(_), false) => cx.error_spanned(
                f.ty,
                format!(
                    "`#[batpak(personal)]` needs a field of type `batpak::Personal<T>`, found `{}`: write `Personal<{}>`",
                    shown(f.ty),
                    shown(f.ty)
                ),
            ),
            (None, true) => cx.error_spanned(
                f.ty,
                "a `Personal<T>` field needs `#[batpak(personal)]` beside it, expected the declaration that the field holds personal data",
            ),
            _ => {}
        }
    }
}

/// The position of the event's subject field, if one is declared.
pub(crate) fn subject(cx: &Ctxt, fields: &[Field]) -> Option<usize> {
    let mut found = None;
    for (i, f) in fields.iter().enumerate() {
        let Some(keyword) = &f.attrs.subject else {
            continue;
        };
        if found.is_some() {
            cx.error_spanned(
                keyword,
                "duplicate `#[batpak(subject)]`, expected one subject field per event",
            );
            continue;
        }
        if f.attrs.personal.is_some() {
            cx.error_spanned(
                keyword,
                "the subject field cannot be personal: its value finds the key that erases the personal fields, expected a pseudonymous id",
            );
        } else if !last_segment(f.ty).is_some_and(|s| SUBJECT_TYPES.contains(&s.as_str())) {
            cx.error_spanned(
                f.ty,
                format!(
                    "`#[batpak(subject)]` needs a `String` or integer field (`u16`, `u32`, `u64`, `u128`, `i32`, `i64`), found `{}`",
                    shown(f.ty)
                ),
            );
        }
        found = Some(i);
    }
    found
}
