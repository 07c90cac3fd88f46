//! The back-office's privacy settings (`/admin/donnees-personnelles`,
//! administrators): the notice's controller and DPO, the periods. A town
//! starts with `[privacy]` of its `tenant.toml`; once saved here, the
//! settings belong to the database (`tenant apply` no longer changes
//! them), as the payments' do.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DbErr, EntityTrait as _};

use super::Privacy;
use super::entity::privacy_settings;
use super::settings::PrivacySettings;
use crate::audit::{self, AuditKind, Event, Origin};
use crate::staff::StaffMember;
use crate::tenancy::Tenant;

/// The settings in force, and where they come from.
#[derive(Debug, Clone)]
pub struct EffectiveSettings {
    pub settings: PrivacySettings,
    /// Saved in the back-office (else: `tenant.toml`).
    pub from_back_office: bool,
    pub updated_by: Option<String>,
}

/// What the back-office's form sends, as typed.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub controller: String,
    pub dpo_name: String,
    pub dpo_email: String,
    pub dpo_address: String,
    pub closure_grace_days: String,
    pub inactive_after_months: String,
    pub never_activated_after_months: String,
}

/// A field's French error: (field, message).
pub type FieldProblem = (&'static str, String);

const TEXT_LIMIT: usize = 300;

impl SettingsInput {
    /// The settings typed, or each field's problem.
    pub fn check(&self) -> Result<PrivacySettings, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut text = |field: &'static str, typed: &str| -> Option<String> {
            let typed = typed.trim();
            if typed.chars().count() > TEXT_LIMIT {
                problems.push((field, format!("{TEXT_LIMIT} caractères au plus.")));
            }
            (!typed.is_empty()).then(|| typed.to_owned())
        };
        let controller = text("controller", &self.controller);
        let dpo_name = text("dpo_name", &self.dpo_name);
        let dpo_email = text("dpo_email", &self.dpo_email);
        let dpo_address = text("dpo_address", &self.dpo_address);
        if dpo_email
            .as_deref()
            .is_some_and(|email| !crate::tenancy::is_plausible_email(email))
        {
            problems.push((
                "dpo_email",
                "Indiquez une adresse électronique valide, par exemple dpo@mairie.fr.".to_owned(),
            ));
        }
        let mut number =
            |field: &'static str, typed: &str, range: std::ops::RangeInclusive<u32>, unit: &str| {
                match typed.trim().parse::<u32>() {
                    Ok(value) if range.contains(&value) => value,
                    _ => {
                        problems.push((
                            field,
                            format!(
                                "Indiquez un nombre de {unit} entre {} et {}.",
                                range.start(),
                                range.end()
                            ),
                        ));
                        *range.start()
                    }
                }
            };
        let closure_grace_days = number(
            "closure_grace_days",
            &self.closure_grace_days,
            1..=90,
            "jours",
        );
        let inactive_after_months = number(
            "inactive_after_months",
            &self.inactive_after_months,
            2..=120,
            "mois",
        );
        let never_activated_after_months = number(
            "never_activated_after_months",
            &self.never_activated_after_months,
            1..=60,
            "mois",
        );
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(PrivacySettings {
            controller,
            dpo_name,
            dpo_email,
            dpo_address,
            closure_grace_days,
            inactive_after_months,
            never_activated_after_months,
        })
    }
}

impl Privacy {
    /// The town's settings in force: the back-office's, else `tenant.toml`'s.
    pub async fn settings(&self, tenant: &Tenant) -> Result<EffectiveSettings, DbErr> {
        let saved = tenant
            .scope()
            .select::<privacy_settings::Entity>()
            .one(&self.db)
            .await?;
        Ok(match saved {
            None => EffectiveSettings {
                settings: PrivacySettings::of(tenant).clone(),
                from_back_office: false,
                updated_by: None,
            },
            Some(row) => {
                let count = |value: i32| u32::try_from(value).unwrap_or(1);
                EffectiveSettings {
                    settings: PrivacySettings {
                        controller: row.controller,
                        dpo_name: row.dpo_name,
                        dpo_email: row.dpo_email,
                        dpo_address: row.dpo_address,
                        closure_grace_days: count(row.closure_grace_days),
                        inactive_after_months: count(row.inactive_after_months),
                        never_activated_after_months: count(row.never_activated_after_months),
                    },
                    from_back_office: true,
                    updated_by: row.updated_by,
                }
            }
        })
    }

    /// Saves the settings typed by an administrator, recorded in the
    /// journal; each field's problem otherwise.
    pub async fn save_settings(
        &self,
        tenant: &Tenant,
        member: &StaffMember,
        input: &SettingsInput,
        origin: &Origin,
    ) -> Result<Result<(), Vec<FieldProblem>>, DbErr> {
        let settings = match input.check() {
            Ok(settings) => settings,
            Err(problems) => return Ok(Err(problems)),
        };
        let label = crate::staff::actor_label(member);
        let signed = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
        let scope = tenant.scope();
        let txn = crate::db::begin_write(&self.db).await?;
        privacy_settings::Entity::insert(privacy_settings::ActiveModel {
            tenant_id: Set(scope.tenant_id().get()),
            controller: Set(settings.controller.clone()),
            dpo_name: Set(settings.dpo_name.clone()),
            dpo_email: Set(settings.dpo_email.clone()),
            dpo_address: Set(settings.dpo_address.clone()),
            closure_grace_days: Set(signed(settings.closure_grace_days)),
            inactive_after_months: Set(signed(settings.inactive_after_months)),
            never_activated_after_months: Set(signed(settings.never_activated_after_months)),
            updated_by: Set(Some(label.clone())),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(privacy_settings::Column::TenantId)
                .update_columns([
                    privacy_settings::Column::Controller,
                    privacy_settings::Column::DpoName,
                    privacy_settings::Column::DpoEmail,
                    privacy_settings::Column::DpoAddress,
                    privacy_settings::Column::ClosureGraceDays,
                    privacy_settings::Column::InactiveAfterMonths,
                    privacy_settings::Column::NeverActivatedAfterMonths,
                    privacy_settings::Column::UpdatedBy,
                    privacy_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
        audit::record_event(
            &txn,
            scope,
            Event {
                kind: AuditKind::PrivacySettingsChanged,
                actor: audit::Actor::Staff {
                    id: member.id,
                    label,
                },
                subject: None,
                origin,
                detail: Some(format!(
                    "délai de fermeture {} jours, inactivité {} mois, jamais activé {} mois, DPO {}",
                    settings.closure_grace_days,
                    settings.inactive_after_months,
                    settings.never_activated_after_months,
                    settings.dpo_email.as_deref().unwrap_or("non renseigné")
                )),
            },
        )
        .await?;
        txn.commit().await?;
        Ok(Ok(()))
    }
}
