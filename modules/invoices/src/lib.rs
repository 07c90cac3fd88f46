//! Mes factures: the invoices the town's billing software pushes through
//! the data API (resident storage, keys `facture:<number>`), newest first,
//! with the total still due and each invoice's detail; and two documents
//! the host renders as PDF, an attestation de paiement and the attestation
//! fiscale of childcare fees (see README.md); the invoices still due may
//! be paid online, the payments the provider confirms recorded on them
//! ([`payment`]).
//!
//! The logic lives in plain modules tested natively ([`model`], [`views`],
//! [`payment`], [`attestations`], [`words`], [`manifest`]); `module` binds
//! it to the host (wasm only).

pub mod attestations;
pub mod manifest;
pub mod model;
pub mod payment;
pub mod views;
pub mod words;

#[cfg(target_arch = "wasm32")]
mod module;

#[cfg(test)]
mod attestation_tests;
