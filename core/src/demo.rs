//! `guichet demo`: the demo towns, from `tenants/` when run from the
//! repository, else from the copy built into the binary.

use std::path::Path;

use crate::app::App;

use rust_embed::RustEmbed;

use crate::tenancy::{DefinitionError, TenantDefinition, load_definitions, parse_definition};
use crate::terms::parse_terms_file;

#[derive(RustEmbed)]
#[folder = "../tenants/"]
#[include = "*/tenant.toml"]
#[include = "*/terms/*.md"]
struct EmbeddedTenants;

/// The definitions of the demo towns.
pub fn town_definitions(dir: &Path) -> Result<Vec<TenantDefinition>, DefinitionError> {
    if dir.is_dir() {
        return load_definitions(dir);
    }
    let mut files: Vec<String> = EmbeddedTenants::iter()
        .map(|path| path.into_owned())
        .collect();
    files.sort();
    let read = |path: &str| {
        EmbeddedTenants::get(path)
            .map(|file| String::from_utf8_lossy(&file.data).into_owned())
            .unwrap_or_default()
    };
    files
        .iter()
        .filter_map(|path| path.strip_suffix("/tenant.toml").map(|slug| (slug, path)))
        .map(|(slug, path)| {
            let mut definition =
                parse_definition(&read(path), slug, &format!("(built-in) tenants/{path}"))?;
            let prefix = format!("{slug}/terms/");
            for terms in files.iter().filter(|file| file.starts_with(&prefix)) {
                definition.terms.push(parse_terms_file(
                    &read(terms),
                    &format!("(built-in) tenants/{terms}"),
                )?);
            }
            Ok(definition)
        })
        .collect()
}

/// The demo resident's credentials, printed by `guichet demo`.
#[derive(Debug, Clone)]
pub struct DemoResident {
    pub identifier: String,
    pub password: String,
}

/// Michel ARPEGE's password in the demo: long enough for every demo town's
/// rule, in none of their blocklists.
const DEMO_PASSWORD: &str = "arpege-demo-2020";

/// Makes sure every demo town has the seed's resident, Michel ARPEGE,
/// active, with a known password, and — as in the seed's screenshot — a
/// last login on 15/06/2020 at 12:55.
pub async fn ensure_residents(
    app: &App,
    definitions: &[TenantDefinition],
) -> anyhow::Result<DemoResident> {
    use chrono::TimeZone as _;
    use sea_orm::{ActiveModelTrait as _, ActiveValue::Set, ColumnTrait as _, QueryFilter as _};

    use crate::accounts::entity::account;

    let identifier = "michel.arpege";
    let hasher = crate::accounts::PasswordHasher::new(1)?;
    let password_hash = hasher.hash(DEMO_PASSWORD).await?;
    for definition in definitions {
        let Some(tenant) = app.tenants.find_by_slug(&definition.slug).await? else {
            continue;
        };
        let scope = tenant.scope();
        let exists = scope
            .select::<account::Entity>()
            .filter(account::Column::Identifier.eq(identifier))
            .one(&app.db)
            .await?
            .is_some();
        if exists {
            continue;
        }
        let last_login = tenant
            .timezone
            .with_ymd_and_hms(2020, 6, 15, 12, 55, 0)
            .single()
            .map(|at| at.with_timezone(&chrono::Utc));
        let now = chrono::Utc::now();
        account::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            identifier: Set(identifier.to_owned()),
            email: Set(format!("michel.arpege@{}.example.fr", tenant.slug)),
            email_key: Set(format!("michel.arpege@{}.example.fr", tenant.slug)),
            civility: Set(Some("M".to_owned())),
            first_name: Set("Michel".to_owned()),
            last_name: Set("ARPEGE".to_owned()),
            address: Set(Some("10 LA RUE CREUSE".to_owned())),
            phone: Set(None),
            password_hash: Set(password_hash.clone()),
            password_is_temporary: Set(false),
            temporary_password_expires_at: Set(None),
            status: Set(account::ACTIVE.to_owned()),
            created_at: Set(now),
            activated_at: Set(Some(now)),
            password_changed_at: Set(Some(now)),
            last_login_at: Set(last_login),
            previous_login_at: Set(None),
            ..Default::default()
        }
        .insert(&app.db)
        .await?;
    }
    Ok(DemoResident {
        identifier: identifier.to_owned(),
        password: DEMO_PASSWORD.to_owned(),
    })
}
