//! Each line checked (every error with its line and column), matched by
//! e-mail with the town's accounts, and given the identifier it would get:
//! the plan [`super::run`] carries out, and the report it leads to.

use std::collections::{HashMap, HashSet};

use sea_orm::{DatabaseTransaction, DbErr, FromQueryResult, QuerySelect as _};

use super::parse::{Column, Row};
use super::report::{ImportReport, LineError, LineOutcome, LineReport};
use crate::accounts::entity::account::{self, Civility};
use crate::accounts::identifier;
use crate::tenancy::{TenantScope, is_plausible_email};

/// The longest names, e-mail address, postal address and phone number the
/// accounts keep (as the forms allow).
const NAME_MAX: usize = 100;
const EMAIL_MAX: usize = 254;
const ADDRESS_MAX: usize = 300;
/// The identifier column holds 100 characters; numbered homonyms add a few.
const STEM_MAX: usize = 90;

/// A line's values, checked.
#[derive(Debug, Clone)]
pub(super) struct Resident {
    pub line: u64,
    pub civility: Option<Civility>,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub email_key: String,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// An account to create, with its identifier.
#[derive(Debug, Clone)]
pub(super) struct Creation {
    pub resident: Resident,
    pub identifier: String,
}

/// A known resident to update with the file's values.
#[derive(Debug, Clone)]
pub(super) struct Update {
    pub account_id: i32,
    pub resident: Resident,
}

#[derive(Debug, Default)]
pub(super) struct Plan {
    pub creations: Vec<Creation>,
    pub updates: Vec<Update>,
    pub report: ImportReport,
}

/// A line's errors, each with its column.
fn check(row: &Row) -> Result<Resident, Vec<LineError>> {
    let mut errors = Vec::new();
    let mut error = |column: Option<Column>, reason: String| {
        errors.push(LineError {
            line: row.line,
            column,
            reason,
        });
    };
    if let Some((found, expected)) = row.width {
        error(
            None,
            format!("La ligne compte {found} cellule(s) ; l'en-tête en compte {expected}."),
        );
    }
    let civility_text = row.cell(Column::Civilite).trim();
    let civility = Civility::parse(civility_text);
    if civility.is_none() && !civility_text.is_empty() {
        error(
            Some(Column::Civilite),
            format!(
                "Civilité « {} » inconnue : indiquez M, Mme, Monsieur ou Madame, ou laissez la cellule vide.",
                shown(civility_text)
            ),
        );
    }
    let mut name = |column: Column, what: &str| -> String {
        let value = row.cell(column).trim();
        if value.is_empty() {
            error(Some(column), format!("Le {what} est manquant."));
        } else if value.chars().count() > NAME_MAX {
            error(
                Some(column),
                format!("Le {what} est trop long ({NAME_MAX} caractères au plus)."),
            );
        }
        value.to_owned()
    };
    let first_name = name(Column::Prenom, "prénom");
    let last_name = name(Column::Nom, "nom");
    let email = row.cell(Column::Courriel).trim().to_owned();
    if email.is_empty() {
        error(
            Some(Column::Courriel),
            "L'adresse électronique est manquante.".to_owned(),
        );
    } else if email.chars().count() > EMAIL_MAX {
        error(
            Some(Column::Courriel),
            format!("L'adresse électronique est trop longue ({EMAIL_MAX} caractères au plus)."),
        );
    } else if !is_plausible_email(&email) {
        error(
            Some(Column::Courriel),
            format!(
                "L'adresse électronique « {} » n'est pas valide (attendu : nom@domaine.fr).",
                shown(&email)
            ),
        );
    }
    let address = row.cell(Column::Adresse).trim().to_owned();
    if address.chars().count() > ADDRESS_MAX {
        error(
            Some(Column::Adresse),
            format!("L'adresse est trop longue ({ADDRESS_MAX} caractères au plus)."),
        );
    }
    let phone = row.cell(Column::Telephone).trim().to_owned();
    if !phone.is_empty() && !crate::accounts::is_plausible_phone(&phone) {
        error(
            Some(Column::Telephone),
            format!(
                "Le numéro de téléphone « {} » n'est pas valide (par exemple 06 12 34 56 78).",
                shown(&phone)
            ),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Resident {
        line: row.line,
        civility,
        first_name,
        last_name,
        email_key: email.to_lowercase(),
        email,
        address: Some(address).filter(|a| !a.is_empty()),
        phone: Some(phone).filter(|p| !p.is_empty()),
    })
}

/// A cell quoted in a message: 60 characters at most.
fn shown(cell: &str) -> String {
    if cell.chars().count() > 60 {
        let cut: String = cell.chars().take(59).collect();
        format!("{cut}…")
    } else {
        cell.to_owned()
    }
}

/// A town's account, as far as an import looks at it.
#[derive(Debug, Clone, FromQueryResult)]
struct Known {
    id: i32,
    identifier: String,
    email_key: String,
    civility: Option<Civility>,
    first_name: String,
    last_name: String,
    address: Option<String>,
    phone: Option<String>,
}

/// What the file would change on a known account; an empty cell (address,
/// phone, civility) leaves the stored value.
fn differs(known: &Known, resident: &Resident) -> bool {
    known.first_name != resident.first_name
        || known.last_name != resident.last_name
        || resident.civility.is_some_and(|c| known.civility != Some(c))
        || resident
            .address
            .as_ref()
            .is_some_and(|a| known.address.as_ref() != Some(a))
        || resident
            .phone
            .as_ref()
            .is_some_and(|p| known.phone.as_ref() != Some(p))
}

/// The first of `stem`, `stem2`, `stem3`… nobody has nor had (`retired`:
/// the digests of closed accounts' identifiers), taken at once.
fn take_identifier(
    stem: &str,
    taken: &mut HashSet<String>,
    retired: &HashSet<String>,
    tenant_id: i32,
) -> String {
    let mut candidate = stem.to_owned();
    let mut number = 2u32;
    while taken.contains(&candidate)
        || retired.contains(&identifier::retired_digest(tenant_id, &candidate))
    {
        candidate = format!("{stem}{number}");
        number += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

pub(super) async fn plan(
    txn: &DatabaseTransaction,
    scope: TenantScope,
    rows: &[Row],
    update_known: bool,
) -> Result<Plan, DbErr> {
    let mut checked: Vec<Result<Resident, Vec<LineError>>> = rows.iter().map(check).collect();

    // The same address twice in the file: every line of it is named.
    let mut lines_of: HashMap<String, Vec<u64>> = HashMap::new();
    for resident in checked.iter().flatten() {
        lines_of
            .entry(resident.email_key.clone())
            .or_default()
            .push(resident.line);
    }
    for entry in &mut checked {
        let Ok(resident) = entry else { continue };
        let Some(lines) = lines_of.get(&resident.email_key).filter(|l| l.len() > 1) else {
            continue;
        };
        let others: Vec<String> = lines
            .iter()
            .filter(|line| **line != resident.line)
            .map(u64::to_string)
            .collect();
        *entry = Err(vec![LineError {
            line: resident.line,
            column: Some(Column::Courriel),
            reason: format!(
                "L'adresse électronique {} figure aussi ligne{} {} : un usager par adresse.",
                resident.email,
                if others.len() > 1 { "s" } else { "" },
                others.join(", ")
            ),
        }]);
    }

    // The town's accounts, in one pass over its rows: matching by e-mail
    // and finding free identifiers then take no query per line, and no
    // plan of the database's (a table just filled by an import has no
    // statistics yet, and PostgreSQL scanned it once per batch of
    // addresses: seconds per import).
    let accounts: Vec<Known> = scope
        .select::<account::Entity>()
        .select_only()
        .columns([
            account::Column::Id,
            account::Column::Identifier,
            account::Column::EmailKey,
            account::Column::Civility,
            account::Column::FirstName,
            account::Column::LastName,
            account::Column::Address,
            account::Column::Phone,
        ])
        .into_model::<Known>()
        .all(txn)
        .await?;
    let mut taken: HashSet<String> = HashSet::with_capacity(accounts.len() + rows.len());
    let mut known: HashMap<String, Known> = HashMap::with_capacity(accounts.len());
    for account in accounts {
        taken.insert(account.identifier.clone());
        known.insert(account.email_key.clone(), account);
    }
    // The closed accounts' identifiers, never given again.
    let retired: HashSet<String> = scope
        .select::<crate::accounts::entity::retired_identifier::Entity>()
        .all(txn)
        .await?
        .into_iter()
        .map(|row| row.digest)
        .collect();
    let tenant_id = scope.tenant_id().get();

    let mut plan = Plan::default();
    plan.report.update_known = update_known;
    for (entry, row) in checked.into_iter().zip(rows) {
        let resident = match entry {
            Ok(resident) => resident,
            Err(errors) => {
                plan.report.lines.push(LineReport {
                    line: row.line,
                    email: row
                        .cell(Column::Courriel)
                        .trim()
                        .chars()
                        .take(EMAIL_MAX)
                        .collect(),
                    outcome: LineOutcome::Error,
                    identifier: None,
                    differs: false,
                });
                plan.report.errors.extend(errors);
                continue;
            }
        };
        let mut line = LineReport {
            line: resident.line,
            email: resident.email.clone(),
            outcome: LineOutcome::Create,
            identifier: None,
            differs: false,
        };
        if let Some(account) = known.get(&resident.email_key) {
            line.identifier = Some(account.identifier.clone());
            let changed = differs(account, &resident);
            if changed && update_known {
                line.outcome = LineOutcome::Update;
                plan.updates.push(Update {
                    account_id: account.id,
                    resident,
                });
            } else {
                line.outcome = LineOutcome::Unchanged;
                line.differs = changed;
            }
        } else {
            let mut stem = identifier::stem(&resident.first_name, &resident.last_name);
            stem.truncate(STEM_MAX);
            let login = take_identifier(&stem, &mut taken, &retired, tenant_id);
            line.identifier = Some(login.clone());
            plan.creations.push(Creation {
                resident,
                identifier: login,
            });
        }
        plan.report.lines.push(line);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, cells: [&str; 6]) -> Row {
        Row {
            line,
            cells: cells.map(str::to_owned),
            width: None,
        }
    }

    #[test]
    fn each_error_names_its_column() {
        let errors = check(&row(
            4,
            [
                "Mlle",
                " ",
                &"x".repeat(101),
                "pas-une-adresse",
                "",
                "06+12",
            ],
        ))
        .unwrap_err();
        let columns: Vec<_> = errors.iter().map(|e| e.column).collect();
        assert_eq!(
            columns,
            [
                Some(Column::Civilite),
                Some(Column::Prenom),
                Some(Column::Nom),
                Some(Column::Courriel),
                Some(Column::Telephone)
            ]
        );
        assert!(errors.iter().all(|e| e.line == 4));
        assert_eq!(errors[1].reason, "Le prénom est manquant.");
        assert_eq!(
            errors[2].reason,
            "Le nom est trop long (100 caractères au plus)."
        );
        let fine = check(&row(2, ["Mme", " Léa ", "Arpège", " Lea@X.fr ", "", ""])).unwrap();
        assert_eq!(fine.email, "Lea@X.fr");
        assert_eq!(fine.email_key, "lea@x.fr");
        assert_eq!(fine.civility, Some(Civility::Madame));
        assert_eq!(fine.address, None);
    }

    #[test]
    fn homonyms_in_the_file_get_their_own_numbers() {
        let mut taken: HashSet<String> = ["lea.arpege".to_owned()].into();
        // A closed account's identifier is no more free than a living one's.
        let retired: HashSet<String> = [identifier::retired_digest(7, "lea.arpege3")].into();
        let mut take = |stem: &str| take_identifier(stem, &mut taken, &retired, 7);
        assert_eq!(take("lea.arpege"), "lea.arpege2");
        assert_eq!(take("lea.arpege"), "lea.arpege4");
        assert_eq!(take("jean.dupont"), "jean.dupont");
        assert_eq!(take("jean.dupont"), "jean.dupont2");
    }
}
