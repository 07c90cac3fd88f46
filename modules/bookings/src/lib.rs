//! Réservations ("Annuler ou réserver…"): families book and cancel school
//! meals, périscolaire and holiday days, week by week, under each town's
//! deadlines; full days take a waiting list promoted in arrival order;
//! staff see each day's children, change capacities and close days.
//!
//! The logic lives in plain modules tested natively ([`calendar`],
//! [`deadlines`], [`pricing`], [`planning`], [`engine`] on a [`store::Store`],
//! the [`attestation`] document, the [`manifest`]);
//! `module` binds it to the host (wasm only).

pub mod attestation;
#[cfg(test)]
mod attestation_tests;
pub mod calendar;
pub mod config;
pub mod deadlines;
#[cfg(test)]
mod demo;
pub mod engine;
#[cfg(test)]
mod engine_tests;
pub mod manifest;
pub mod model;
pub mod planning;
pub mod pricing;
pub mod store;
pub mod views;

#[cfg(target_arch = "wasm32")]
mod module;
