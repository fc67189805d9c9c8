//! `#[batpak::aggregate]`: an inherent impl block whose `#[command]` methods
//! decide and whose one `#[apply]` method evolves becomes an `Aggregate`.
//!
//! The attribute checks every method's shape (collecting every error, each at
//! the offending token), then writes the impl back without the markers, a
//! command enum with one variant per command type (and `From` for each), and
//! the `Aggregate` impl whose `handle` dispatches on that enum.

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::{FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Type};

/// A checked `#[command]` method.
struct Command {
    method: Ident,
    /// The command type `T` of `cmd: &T`.
    ty: Type,
    /// Its variant in the command enum: `T`'s last path segment.
    variant: Ident,
}

/// The checked aggregate.
struct Model {
    commands: Vec<Command>,
    apply: Ident,
    event: Type,
    error: Type,
    enum_name: Ident,
}

/// Expands the attribute, or returns every error found.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut imp: ItemImpl = syn::parse2(item)?;
    let cx = Ctxt::new();
    let enum_name = parse_args(&cx, args, &imp);
    let model = check(&cx, &mut imp, enum_name);
    cx.check()?;
    let model = model.expect("a model whenever no error was found");
    Ok(generate(&imp, &model))
}

/// `command = Name` names the command enum (default `<Type>Command`).
fn parse_args(cx: &Ctxt, args: TokenStream, imp: &ItemImpl) -> Ident {
    let self_name = match &*imp.self_ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    };
    let mut name = self_name.map(|n| format_ident!("{}Command", n));
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("command") {
            name = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("the only argument is `command = Name` (the command enum's name)"))
        }
    });
    if let Err(e) = parser.parse2(args) {
        cx.syn_error(e);
    }
    name.unwrap_or_else(|| {
        cx.error_spanned(
            &imp.self_ty,
            "an aggregate is a named type (`impl Cart { .. }`)",
        );
        format_ident!("Command")
    })
}

/// Whether `f` carries the marker `#[name]`, removing it.
fn take_marker(f: &mut ImplItemFn, name: &str) -> bool {
    let before = f.attrs.len();
    f.attrs.retain(|a| !a.path().is_ident(name));
    f.attrs.len() != before
}

fn check(cx: &Ctxt, imp: &mut ItemImpl, enum_name: Ident) -> Option<Model> {
    if let Some((path, _)) = &imp.trait_ {
        cx.error_spanned(
            path,
            "#[batpak::aggregate] goes on an inherent impl, not a trait impl",
        );
        return None;
    }
    if !imp.generics.params.is_empty() {
        cx.error_spanned(&imp.generics, "an aggregate cannot be generic");
    }
    let mut commands = Vec::new();
    let mut marked = 0;
    let mut applies = Vec::new();
    for item in &mut imp.items {
        let ImplItem::Fn(f) = item else { continue };
        let is_command = take_marker(f, "command");
        let is_apply = take_marker(f, "apply");
        if is_command && is_apply {
            marked += 1;
            cx.error_spanned(
                &f.sig.ident,
                "a method is a #[command] or the #[apply], not both",
            );
        } else if is_command {
            marked += 1;
            commands.extend(command(cx, f));
        } else if is_apply {
            applies.push(f.clone());
        }
    }
    let apply = match applies.as_slice() {
        [one] => apply(cx, one),
        [] => {
            cx.error_spanned(
                &imp.self_ty,
                "an aggregate needs one `#[apply] fn(&mut self, event: &Event)`",
            );
            None
        }
        [_, extra, ..] => {
            cx.error_spanned(
                &extra.sig.ident,
                "an aggregate has one #[apply] method; match on the event inside it",
            );
            None
        }
    };
    if marked == 0 {
        cx.error_spanned(&imp.self_ty, "an aggregate needs at least one `#[command] fn(&self, command: &T) -> Result<Vec<Event>, Error>`");
    }
    for (i, (c, _)) in commands.iter().enumerate() {
        if commands[..i].iter().any(|(p, _)| p.variant == c.variant) {
            let message = format!(
                "another #[command] already takes a `{}`: each command type has one handler",
                c.variant
            );
            cx.error_spanned(&c.ty, message);
        }
    }
    let (apply, event) = apply?;
    let error = commands.first().map(|c| c.1.clone())?;
    Some(Model {
        commands: commands.into_iter().map(|c| c.0).collect(),
        apply,
        event,
        error,
        enum_name,
    })
}

/// The type behind `&T`, or an error at the argument.
fn referenced(cx: &Ctxt, arg: &FnArg, what: &str) -> Option<Type> {
    match arg {
        FnArg::Typed(pt) => match &*pt.ty {
            Type::Reference(r) if r.mutability.is_none() => Some((*r.elem).clone()),
            other => {
                cx.error_spanned(other, format!("{what} is taken by shared reference (`&T`)"));
                None
            }
        },
        FnArg::Receiver(r) => {
            cx.error_spanned(r, format!("expected {what} here"));
            None
        }
    }
}

/// Checks a receiver: `&self` (or `&mut self` when `mutable`).
fn receiver(cx: &Ctxt, f: &ImplItemFn, mutable: bool) -> bool {
    let ok = f.sig.receiver().is_some_and(
        |r| matches!(&r.kind, syn::ReceiverKind::Reference(_, _, m) if m.is_some() == mutable),
    );
    if !ok {
        let want = if mutable { "&mut self" } else { "&self" };
        cx.error_spanned(&f.sig.ident, format!("this method takes `{want}` first"));
    }
    ok
}

/// A command handler: `fn(&self, cmd: &T) -> Result<Vec<Event>, Error>`.
fn command(cx: &Ctxt, f: &ImplItemFn) -> Option<(Command, Type)> {
    if !receiver(cx, f, false) {
        return None;
    }
    if f.sig.inputs.len() != 2 {
        cx.error_spanned(
            &f.sig.inputs,
            "a #[command] takes `&self` and one command: `(&self, command: &T)`",
        );
        return None;
    }
    let ty = referenced(cx, &f.sig.inputs[1], "the command")?;
    let variant = match &ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    };
    let Some(variant) = variant else {
        cx.error_spanned(&ty, "a command is a named type (a struct or enum)");
        return None;
    };
    let error = result_error(cx, f)?;
    let method = f.sig.ident.clone();
    Some((
        Command {
            method,
            ty,
            variant,
        },
        error,
    ))
}

/// The `E` of a `-> Result<_, E>` return type.
fn result_error(cx: &Ctxt, f: &ImplItemFn) -> Option<Type> {
    let bad = || "a #[command] returns `Result<Vec<Event>, Error>`";
    let syn::ReturnType::Type(_, ty) = &f.sig.output else {
        cx.error_spanned(&f.sig.ident, bad());
        return None;
    };
    let last = match &**ty {
        Type::Path(p) => p.path.segments.last(),
        _ => None,
    };
    let args = match last {
        Some(seg) if seg.ident == "Result" => match &seg.arguments {
            syn::PathArguments::AngleBracketed(a) if a.args.len() == 2 => Some(&a.args[1]),
            _ => None,
        },
        _ => None,
    };
    match args {
        Some(syn::GenericArgument::Type(e)) => Some(e.clone()),
        _ => {
            cx.error_spanned(ty, bad());
            None
        }
    }
}

/// The fold: `fn(&mut self, event: &Event)`.
fn apply(cx: &Ctxt, f: &ImplItemFn) -> Option<(Ident, Type)> {
    if !receiver(cx, f, true) {
        return None;
    }
    if f.sig.inputs.len() != 2 || !matches!(f.sig.output, syn::ReturnType::Default) {
        cx.error_spanned(
            &f.sig,
            "the #[apply] method is `fn(&mut self, event: &Event)`, returning nothing",
        );
        return None;
    }
    let event = referenced(cx, &f.sig.inputs[1], "the event")?;
    Some((f.sig.ident.clone(), event))
}

fn generate(imp: &ItemImpl, m: &Model) -> TokenStream {
    let p = quote!(::batpak::__private);
    let self_ty = &imp.self_ty;
    let (enum_name, event, error, apply) = (&m.enum_name, &m.event, &m.error, &m.apply);
    let variants = m.commands.iter().map(|c| {
        let (v, ty) = (&c.variant, &c.ty);
        quote!(#[doc = concat!("[`", stringify!(#ty), "`].")] #v(#ty))
    });
    let froms = m.commands.iter().map(|c| {
        let (v, ty) = (&c.variant, &c.ty);
        quote! {
            impl #p::From<#ty> for #enum_name {
                fn from(command: #ty) -> Self { #enum_name::#v(command) }
            }
        }
    });
    let arms = m.commands.iter().map(|c| {
        let (v, method) = (&c.variant, &c.method);
        quote_spanned!(method.span()=> #enum_name::#v(command) => #self_ty::#method(self, command))
    });
    let doc = "The commands of the aggregate, one variant per `#[command]` method \
               (written by `#[batpak::aggregate]`).";
    quote! {
        #imp

        #[doc = #doc]
        // Public so a public aggregate's `Command` is nameable; a command
        // type the user kept private stays private in its variant.
        #[allow(private_interfaces)]
        pub enum #enum_name { #(#variants,)* }

        #(#froms)*

        impl #p::Aggregate for #self_ty {
            type Event = #event;
            type Command = #enum_name;
            type Error = #error;

            fn apply(&mut self, event: &#event) {
                #self_ty::#apply(self, event)
            }

            fn handle(&self, command: &#enum_name) -> #p::Result<#p::Vec<#event>, #error> {
                match command { #(#arms,)* }
            }
        }
    }
}
