//! CSRF protection: every form carries a token that only this site can make
//! for this browser, and no handler of a POST runs unless it matches.
//!
//! The token is an HMAC, under the secret key, of the town, of the face and
//! of a value the browser holds in an HttpOnly cookie — the face's session
//! token once logged in, a random "pre-session" value before. Another site
//! can make the browser send the cookie, but cannot read it, so it cannot
//! compute the token; the form of one town (or one face) is worthless on
//! another.
//!
//! [`CsrfForm`] is the data guard every POST takes: it reads the `csrf`
//! field and checks it *before* the handler runs, so a handler that forgets
//! the check cannot exist. A handler that re-shows what the person typed
//! takes `Result<CsrfForm<T>, Refused<T>>` and gets the input back with
//! [`Refused::stale_input`]; the others take `CsrfForm<T>` and a refused form
//! gets the error page with [`STALE_FORM`].
//!
//! The same guard refuses, for every form, a field holding a character no
//! text may hold (NUL, which PostgreSQL cannot store and no person types):
//! 400, the input shown again (cut before that character) with
//! [`INVALID_TEXT`], before any handler or service sees it.

use std::marker::PhantomData;

use hmac::{Hmac, KeyInit as _, Mac as _};
use rocket::data::{Data, FromData, Outcome as DataOutcome};
use rocket::form::{self, DataField, Form, FromForm, Options, ValueField};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use super::PageError;
use super::cookies::WebSettings;
use super::face::Face;
use crate::accounts::secrets::new_token;
use crate::tenancy::CurrentTenant;

const PRESESSION_COOKIE: &str = "guichet_csrf";

/// The one message for a form whose token is missing or not this browser's:
/// the page was open too long (the session changed), or another site sent it.
pub const STALE_FORM: &str = "Votre session a expiré ou la page était trop ancienne : \
     vérifiez vos saisies et validez à nouveau.";

/// The one message for a form refused because a field held a NUL character.
pub const INVALID_TEXT: &str = "Un champ contient un caractère invisible qui n'est pas accepté : \
     vérifiez vos saisies et validez à nouveau.";

/// Why a form was sent back to the person: its token, or a character no
/// text may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormProblem {
    Stale,
    InvalidText,
}

impl FormProblem {
    /// The problem a refusal's status stands for: 400 is a forbidden
    /// character; 403 and 422 are the token's.
    pub fn of(status: Status) -> Self {
        if status == Status::BadRequest {
            Self::InvalidText
        } else {
            Self::Stale
        }
    }

    /// What the form (or the error page) says.
    pub fn message(self) -> &'static str {
        match self {
            Self::Stale => STALE_FORM,
            Self::InvalidText => INVALID_TEXT,
        }
    }

    pub(super) fn heading(self) -> &'static str {
        match self {
            Self::Stale => "Formulaire expiré",
            Self::InvalidText => "Saisie refusée",
        }
    }
}

/// The message a form shown again says, for the status [`input_of`] (or
/// [`Refused::stale_input`]) gave with its input.
pub fn refusal_message(status: Status) -> &'static str {
    FormProblem::of(status).message()
}

/// The CSRF token of this request's forms, for face `F`.
#[derive(Debug)]
pub struct Csrf<F> {
    token: String,
    face: PhantomData<F>,
}

impl<F> Clone for Csrf<F> {
    fn clone(&self) -> Self {
        Self {
            token: self.token.clone(),
            face: PhantomData,
        }
    }
}

impl<F> Csrf<F> {
    /// The value of the hidden `csrf` field.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// True when `submitted` is this browser's token for this town.
    fn verify(&self, submitted: &str) -> bool {
        !submitted.is_empty() && bool::from(self.token.as_bytes().ct_eq(submitted.as_bytes()))
    }
}

fn compute(key: &[u8], tenant_id: i32, face: &str, binding: &str) -> String {
    // HMAC accepts keys of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(format!("csrf:{tenant_id}:{face}:{binding}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[rocket::async_trait]
impl<'r, F: Face> FromRequest<'r> for Csrf<F> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, ()> {
        let tenant = match CurrentTenant::from_request(request).await {
            Outcome::Success(tenant) => tenant,
            Outcome::Error(error) => return Outcome::Error(error),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };
        let Some(settings) = request.rocket().state::<WebSettings>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let jar = request.cookies();
        let binding = if let Some(session) = jar.get(&settings.cookie_name(F::SESSION_COOKIE)) {
            session.value().to_owned()
        } else if let Some(presession) = jar.get_pending(&settings.cookie_name(PRESESSION_COOKIE)) {
            presession.value().to_owned()
        } else {
            let value = new_token();
            jar.add(settings.cookie(PRESESSION_COOKIE, value.clone()));
            value
        };
        Outcome::Success(Csrf {
            token: compute(
                &settings.secret_key,
                tenant.id().get(),
                F::SESSION_COOKIE,
                &binding,
            ),
            face: PhantomData,
        })
    }
}

/// A form of type `T` whose CSRF token was checked for face `F`.
#[derive(Debug)]
pub struct CsrfForm<T, F> {
    value: T,
    face: PhantomData<F>,
}

impl<T, F> CsrfForm<T, F> {
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T, F> std::ops::Deref for CsrfForm<T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// Why a [`CsrfForm`] was refused.
#[derive(Debug)]
pub enum Refused<'r, T> {
    /// No token (422) or not this browser's (403); the input, when it
    /// parsed, to show again.
    Stale { status: Status, input: Option<T> },
    /// The token was right but a field held a character no text may hold
    /// (400); the input, each such field cut before that character.
    InvalidText { input: Option<T> },
    /// The token was right but the form does not parse.
    Malformed(form::Errors<'r>),
}

impl<T> Refused<'_, T> {
    /// The status the refusal answers with.
    pub fn status(&self) -> Status {
        match self {
            Self::Stale { status, .. } => *status,
            Self::InvalidText { .. } => Status::BadRequest,
            Self::Malformed(errors) => errors.status(),
        }
    }

    /// What the person typed, to show again with the returned status and
    /// [`refusal_message`] of it; an error page when there is nothing to show.
    pub fn stale_input(self) -> Result<(T, Status), PageError> {
        match self {
            Self::Stale {
                status,
                input: Some(input),
            } => Ok((input, status)),
            Self::Stale {
                status,
                input: None,
            } => Err(PageError::stale_form(status)),
            Self::InvalidText { input: Some(input) } => Ok((input, Status::BadRequest)),
            Self::InvalidText { input: None } => Err(PageError::invalid_text()),
            Self::Malformed(errors) => Err(PageError::status(errors.status())),
        }
    }
}

/// What a `Checked` form gives a handler: the input, and the status to
/// answer with when it was refused (the handler then shows the input again
/// with [`refusal_message`] of that status). A refused form with nothing to
/// show is an error page.
pub fn input_of<T, F>(
    form: Result<CsrfForm<T, F>, Refused<'_, T>>,
) -> Result<(T, Option<Status>), PageError> {
    match form {
        Ok(form) => Ok((form.into_inner(), None)),
        Err(refused) => {
            let (input, status) = refused.stale_input()?;
            Ok((input, Some(status)))
        }
    }
}

/// Remembers, for the catchers, why a request's form was refused: the
/// error page then says so in [`FormProblem::message`]'s words.
#[derive(Debug, Default, Clone, Copy)]
pub struct FormProblemMarker(pub Option<FormProblem>);

/// Why this request's form was refused, if it was.
pub fn form_problem(request: &Request<'_>) -> Option<FormProblem> {
    request
        .local_cache(|| std::sync::Mutex::new(FormProblemMarker::default()))
        .lock()
        .ok()
        .and_then(|marker| marker.0)
}

pub(super) fn mark_form_problem(request: &Request<'_>, problem: FormProblem) {
    if let Ok(mut marker) = request
        .local_cache(|| std::sync::Mutex::new(FormProblemMarker::default()))
        .lock()
    {
        marker.0 = Some(problem);
    }
}

/// A form that carries nothing but its token: a button (logout, remove…).
#[derive(Debug, Clone, Copy)]
pub struct Button;

#[rocket::async_trait]
impl<'r> FromForm<'r> for Button {
    type Context = ();

    fn init(_: Options) -> Self::Context {}

    fn push_value(_: &mut Self::Context, _: ValueField<'r>) {}

    async fn push_data(_: &mut Self::Context, _: DataField<'r, '_>) {}

    fn finalize(_: Self::Context) -> form::Result<'r, Self> {
        Ok(Button)
    }
}

/// `T` plus the `csrf` field, which `T` never sees, and whether a field
/// held a character no text may hold.
struct WithToken<'r, T> {
    token: Option<&'r str>,
    invalid_text: bool,
    value: form::Result<'r, T>,
}

struct WithTokenContext<'r, T: FromForm<'r>> {
    token: Option<&'r str>,
    /// A field held a character no text may hold.
    invalid_text: bool,
    inner: T::Context,
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r>> FromForm<'r> for WithToken<'r, T> {
    type Context = WithTokenContext<'r, T>;

    fn init(opts: Options) -> Self::Context {
        WithTokenContext {
            token: None,
            invalid_text: false,
            inner: T::init(opts),
        }
    }

    fn push_value(ctxt: &mut Self::Context, mut field: ValueField<'r>) {
        if field.name.source().as_str() == "csrf" {
            ctxt.token = Some(field.value);
            return;
        }
        if !crate::db::is_storable_text(field.value) {
            ctxt.invalid_text = true;
            // `T` still gets the field, cut before the character (a slice
            // of the same text), so that the form can be shown again.
            let end = field.value.find('\0').unwrap_or(field.value.len());
            field.value = &field.value[..end];
        }
        T::push_value(&mut ctxt.inner, field);
    }

    async fn push_data(ctxt: &mut Self::Context, field: DataField<'r, '_>) {
        T::push_data(&mut ctxt.inner, field).await;
    }

    fn push_error(ctxt: &mut Self::Context, error: form::Error<'r>) {
        T::push_error(&mut ctxt.inner, error);
    }

    fn finalize(ctxt: Self::Context) -> form::Result<'r, Self> {
        Ok(WithToken {
            token: ctxt.token,
            invalid_text: ctxt.invalid_text,
            value: T::finalize(ctxt.inner),
        })
    }
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r> + std::fmt::Debug + 'r, F: Face> FromData<'r> for CsrfForm<T, F> {
    type Error = Refused<'r, T>;

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> DataOutcome<'r, Self> {
        let parsed = match Form::<WithToken<'r, T>>::from_data(request, data).await {
            DataOutcome::Success(form) => form.into_inner(),
            // Not a form at all (another content type): there is no token.
            DataOutcome::Error((status, errors)) => {
                return DataOutcome::Error((status, Refused::Malformed(errors)));
            }
            DataOutcome::Forward(forward) => return DataOutcome::Forward(forward),
        };
        let expected = match request.guard::<Csrf<F>>().await {
            Outcome::Success(csrf) => csrf,
            Outcome::Error((status, ())) | Outcome::Forward(status) => {
                return DataOutcome::Error((
                    status,
                    Refused::Stale {
                        status,
                        input: None,
                    },
                ));
            }
        };
        let status = match parsed.token {
            Some(token) if expected.verify(token) => None,
            Some(_) => Some(Status::Forbidden),
            None => Some(Status::UnprocessableEntity),
        };
        match (status, parsed.value) {
            (None, input) if parsed.invalid_text => {
                mark_form_problem(request, FormProblem::InvalidText);
                DataOutcome::Error((
                    Status::BadRequest,
                    Refused::InvalidText { input: input.ok() },
                ))
            }
            (None, Ok(value)) => DataOutcome::Success(CsrfForm {
                value,
                face: PhantomData,
            }),
            (None, Err(errors)) => {
                DataOutcome::Error((errors.status(), Refused::Malformed(errors)))
            }
            (Some(status), input) => {
                mark_form_problem(request, FormProblem::Stale);
                DataOutcome::Error((
                    status,
                    Refused::Stale {
                        status,
                        input: input.ok(),
                    },
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_key_town_face_and_binding() {
        let token = compute(b"key", 1, "guichet_session", "abc");
        assert_eq!(token.len(), 64);
        assert_eq!(token, compute(b"key", 1, "guichet_session", "abc"));
        assert_ne!(token, compute(b"other", 1, "guichet_session", "abc"));
        assert_ne!(token, compute(b"key", 2, "guichet_session", "abc"));
        assert_ne!(token, compute(b"key", 1, "guichet_staff", "abc"));
        assert_ne!(token, compute(b"key", 1, "guichet_session", "abd"));
        let csrf = Csrf::<()> {
            token,
            face: PhantomData,
        };
        assert!(!csrf.verify(""));
        assert!(!csrf.verify("x"));
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(refusal_message(Status::Forbidden), STALE_FORM);
        assert_eq!(refusal_message(Status::UnprocessableEntity), STALE_FORM);
        assert_eq!(refusal_message(Status::BadRequest), INVALID_TEXT);
    }
}
