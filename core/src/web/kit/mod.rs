//! The web kit every face shares: the town guard and rendering through its
//! theme ([`render`]), errors and their catchers ([`errors`]), cookies,
//! CSRF-checked forms ([`csrf`]), fairings, static assets, and the client's
//! origin. A face (`web/resident/`, later staff and operators) is a [`Face`]
//! type plus its routes, guards and menu; it never copies any of these.

pub mod assets;
pub mod cookies;
pub mod csrf;
pub mod documents;
pub mod errors;
pub mod face;
pub mod fairings;
pub mod module_view;
mod origin;
pub mod page_cache;
pub mod render;

use std::sync::Arc;

use crate::theme::ThemeSet;

pub use cookies::WebSettings;
pub use csrf::{
    Button, Csrf, CsrfForm, FormProblem, INVALID_TEXT, Refused, STALE_FORM, refusal_message,
};
pub use errors::PageError;
pub use face::{Face, MenuEntry};
pub use fairings::RequestId;
pub use render::{Page, TownPage, flash_with_details};

/// The themes, as managed Rocket state.
#[derive(Debug, Clone)]
pub struct Themes(pub Arc<ThemeSet>);
