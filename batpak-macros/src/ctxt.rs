//! [`Ctxt`]: collects every error a derive finds, with its span, so the user sees
//! all of them at once instead of fixing one per build (serde's `Ctxt`).

use proc_macro2::Span;
use quote::ToTokens;
use std::cell::RefCell;
use std::fmt::Display;

/// The errors found so far while parsing and checking one derive input.
pub(crate) struct Ctxt {
    errors: RefCell<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Self {
        Self {
            errors: RefCell::new(Vec::new()),
        }
    }

    /// An error spanning the tokens of `node`.
    pub(crate) fn error_spanned<T: ToTokens>(&self, node: T, message: impl Display) {
        self.errors
            .borrow_mut()
            .push(syn::Error::new_spanned(node.into_token_stream(), message));
    }

    /// An error at `span`.
    pub(crate) fn error_at(&self, span: Span, message: impl Display) {
        self.errors
            .borrow_mut()
            .push(syn::Error::new(span, message));
    }

    /// An error syn produced while parsing.
    pub(crate) fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    /// All errors combined into one, or `Ok` when there were none.
    pub(crate) fn check(self) -> Result<(), syn::Error> {
        let mut errors = self.errors.into_inner().into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}
