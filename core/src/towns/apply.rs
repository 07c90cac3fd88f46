//! `tenant apply`: towns created or updated with everything their
//! definitions give, all or nothing.

use sea_orm::DatabaseConnection;

use super::TownDefinition;
use super::definition::check_sections;
use crate::content::LeftAlone;
use crate::modules::{ModuleEnablement, Modules, PublishError, ResolvedModule, Upgrade};
use crate::tenancy::{ApplyOutcome, TenancyError, TenantDirectory};
use crate::terms::{PublishOutcome, Terms};
use crate::theme::ThemeSet;

/// What applying towns did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub towns: Vec<ApplyOutcome>,
    /// Per town slug, what each of its terms files gave.
    pub terms: Vec<(String, PublishOutcome)>,
    /// Towns whose enabled modules changed, with the releases they now use.
    pub modules: Vec<(String, Vec<ResolvedModule>)>,
    /// Per town slug, the news and pages kept as stored rather than taken
    /// from the folder (see `crate::content`, "Who owns what").
    pub left_alone: Vec<(String, LeftAlone)>,
    /// Per town slug, the modules whose folder entry was left alone: edited
    /// in the back-office, they belong to the database (see
    /// `modules::town_admin::keep_edited`).
    pub modules_kept: Vec<(String, Vec<String>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "town `{town}` asks for the theme `{theme}`, which does not exist (themes: {available})"
    )]
    UnknownTheme {
        town: String,
        theme: String,
        available: String,
    },
    /// A section that does not validate (a definition changed in code
    /// rather than read from its folder).
    #[error("town `{town}`: {message}")]
    Invalid { town: String, message: String },
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("town `{town}`: {message}")]
    Module { town: String, message: String },
    #[error("the built-in module `{module}` cannot be published: {source}")]
    FirstPartyModule {
        module: String,
        source: PublishError,
    },
}

/// Creates or updates `towns`: each town's row and host names, its enabled
/// modules, its terms versions (files not yet published), its news and
/// pages (less what the database owns: see `crate::content`), in one
/// transaction. Everything that can be checked is checked
/// before it begins (themes, sections, host names, modules resolved and
/// their configurations validated); a failure inside it rolls it all back.
/// Applying the same towns again changes nothing. Towns not given are left
/// alone. The towns kept in memory are forgotten once committed.
pub async fn apply(
    db: &DatabaseConnection,
    tenants: &TenantDirectory,
    themes: &ThemeSet,
    modules: &Modules,
    towns: &[TownDefinition],
) -> Result<Applied, ApplyError> {
    for town in towns {
        let definition = &town.definition;
        if !themes.contains(&definition.theme) {
            return Err(ApplyError::UnknownTheme {
                town: definition.slug.clone(),
                theme: definition.theme.clone(),
                available: themes.names().join(", "),
            });
        }
        check_sections(definition).map_err(|message| ApplyError::Invalid {
            town: definition.slug.clone(),
            message,
        })?;
    }
    let definitions: Vec<_> = towns.iter().map(|town| &town.definition).collect();
    tenants.check(&definitions)?;

    publish_first_party_modules(modules).await?;
    let releases = crate::modules::towns::releases(db).await?;
    let mut resolved = Vec::with_capacity(towns.len());
    for definition in &definitions {
        let enabled = definition.section::<Vec<ModuleEnablement>>();
        // A town keeps the releases it has (see modules/towns.rs): only an
        // explicit `guichet module upgrade` moves it.
        let tenant = tenants.find_by_slug(&definition.slug).await?;
        let pinned = crate::modules::towns::pinned(db, tenant.as_ref()).await?;
        let town_modules =
            crate::modules::towns::resolve(enabled, &releases, &pinned, &Upgrade::Keep).map_err(
                |message| ApplyError::Module {
                    town: definition.slug.clone(),
                    message,
                },
            )?;
        let (town_modules, kept) = crate::modules::town_admin::keep_edited(
            db,
            tenant.as_ref(),
            enabled,
            town_modules,
            &releases,
        )
        .await?;
        resolved.push((town_modules, kept));
    }

    let mut applied = Applied {
        towns: Vec::with_capacity(towns.len()),
        terms: Vec::new(),
        modules: Vec::new(),
        left_alone: Vec::new(),
        modules_kept: Vec::new(),
    };
    let txn = crate::db::begin_write(db).await?;
    for (town, (town_modules, kept)) in towns.iter().zip(resolved) {
        let slug = &town.definition.slug;
        // The row first: news and pages travel in its definition, less
        // what the database owns (edited in the back-office, or not in
        // this folder), read under the row's lock.
        let mut definition = town.definition.clone();
        if let Some(stored) = tenants.stored_in(&txn, slug).await? {
            let kept =
                crate::content::merge(&mut definition, &stored.definition).map_err(|error| {
                    ApplyError::Invalid {
                        town: slug.clone(),
                        message: format!("news and pages: {error}"),
                    }
                })?;
            applied
                .left_alone
                .extend(kept.into_iter().map(|item| (slug.clone(), item)));
        }
        let (outcome, tenant) = tenants.apply_in(&txn, &definition).await?;
        applied.towns.push(outcome);
        if !kept.is_empty() {
            applied.modules_kept.push((slug.clone(), kept));
        }
        if Modules::set_town_modules(&txn, &tenant, &town_modules).await? {
            applied.modules.push((slug.clone(), town_modules));
        }
        for file in &town.terms {
            let outcome = Terms::publish_in(&txn, &tenant, &file.source, file.kind).await?;
            applied.terms.push((slug.clone(), outcome));
        }
    }
    txn.commit().await?;
    tenants.forget_resolved();
    Ok(applied)
}

/// Publishes the modules built into the binary, once their build
/// signature is checked (those already published are recognised by their
/// hash and left as they are): they ship with the binary, like the themes.
async fn publish_first_party_modules(modules: &Modules) -> Result<(), ApplyError> {
    for module in crate::modules::FIRST_PARTY_MODULES {
        crate::modules::trust::verify_first_party(module).map_err(|error| {
            ApplyError::FirstPartyModule {
                module: module.id.to_owned(),
                source: error.into(),
            }
        })?;
        modules
            .publish_first_party(module.bytes)
            .await
            .map_err(|source| ApplyError::FirstPartyModule {
                module: module.id.to_owned(),
                source,
            })?;
    }
    Ok(())
}
