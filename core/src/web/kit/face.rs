//! A face of the site: residents today, town staff and operators next. Each
//! face has its own session cookie (which CSRF tokens are bound to), its own
//! login page (where a refused guard sends the browser) and its own menu.
//! The kit is written once against this trait; a face is a unit type in its
//! own folder (`web/resident/`, …).

/// One entry of a face's main menu.
#[derive(Debug, Clone, Copy)]
pub struct MenuEntry {
    pub href: &'static str,
    pub label: &'static str,
    /// One of the theme's icons (`static/icons.svg`).
    pub icon: &'static str,
}

pub trait Face: Send + Sync + 'static {
    /// The cookie that holds this face's session; CSRF tokens are bound to
    /// it once logged in (to a random pre-session cookie before).
    const SESSION_COOKIE: &'static str;
    /// Where a browser goes when a guard of this face refuses it without
    /// saying where (the 401 catcher registered at the face's base).
    const LOGIN_PATH: &'static str;
    /// The main menu, in order.
    const MENU: &'static [MenuEntry];
    /// The template of this face's error pages (in its own layout).
    const ERROR_TEMPLATE: &'static str = "errors/error";
}
