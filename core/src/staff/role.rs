//! Roles and permissions. A role includes everything the roles below it may
//! do: agent < gestionnaire < administrateur. A page states what it needs as
//! a [`Permission`] marker type (`Staff<ManageResidents>` in the web face);
//! no handler compares roles itself.

use sea_orm::entity::prelude::*;

/// A staff member's role, lowest first (the order is the derive's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum StaffRole {
    /// Reads residents and requests, handles requests.
    #[sea_orm(string_value = "agent")]
    Agent,
    /// + creates, imports, disables residents; publishes news and pages.
    #[sea_orm(string_value = "gestionnaire")]
    Gestionnaire,
    /// + manages staff, terms of use, modules and town settings.
    #[sea_orm(string_value = "administrateur")]
    Administrateur,
}

impl StaffRole {
    pub const ALL: [StaffRole; 3] = [Self::Agent, Self::Gestionnaire, Self::Administrateur];

    /// "agent", "gestionnaire", "administrateur": also what the CLI and
    /// forms take.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Gestionnaire => "gestionnaire",
            Self::Administrateur => "administrateur",
        }
    }

    /// The French label, capitalized.
    pub fn label(self) -> &'static str {
        match self {
            Self::Agent => "Agent",
            Self::Gestionnaire => "Gestionnaire",
            Self::Administrateur => "Administrateur",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == text.trim().to_lowercase())
    }

    /// What the role may do, in French, for the overview page.
    pub fn abilities(self) -> &'static [&'static str] {
        match self {
            Self::Agent => &[
                "consulter les comptes des usagers et leurs demandes",
                "traiter les demandes",
                "consulter le journal des comptes",
                "consulter les paiements en ligne",
            ],
            Self::Gestionnaire => &[
                "consulter les comptes des usagers et leurs demandes",
                "traiter les demandes",
                "consulter le journal des comptes",
                "consulter les paiements en ligne",
                "créer, importer, désactiver les comptes des usagers",
                "publier les actualités et les pages",
            ],
            Self::Administrateur => &[
                "consulter les comptes des usagers et leurs demandes",
                "traiter les demandes",
                "consulter le journal des comptes",
                "consulter les paiements en ligne",
                "créer, importer, désactiver les comptes des usagers",
                "publier les actualités et les pages",
                "gérer l'équipe (inviter, changer de rôle, suspendre)",
                "gérer les conditions d'utilisation, les modules, le paiement en ligne et les réglages de la commune",
            ],
        }
    }
}

/// What a page needs: the least role that has it.
pub trait Permission: Send + Sync + 'static {
    const LEAST: StaffRole;
}

/// Any member of the staff, logged in with both factors: the overview,
/// logout.
#[derive(Debug)]
pub struct EnterBackOffice;
/// Read residents' accounts (list, page).
#[derive(Debug)]
pub struct ReadResidents;
/// Create, disable, re-enable residents, resend activations.
#[derive(Debug)]
pub struct ManageResidents;
/// Import residents from a CSV file.
#[derive(Debug)]
pub struct ImportResidents;
/// Invite staff, change their roles, suspend them.
#[derive(Debug)]
pub struct ManageStaff;
/// Read the account journal. Agents too: they answer residents at the
/// counter ("why can I not log in?"), and they already read the residents'
/// accounts the journal is about.
#[derive(Debug)]
pub struct ReadJournal;
/// The town's settings: terms of use, modules.
#[derive(Debug)]
pub struct ManageTown;
/// Write what residents read: news and the town's pages.
#[derive(Debug)]
pub struct PublishContent;
/// The requests' inbox: read a request, take it, change its status with a
/// message to the resident, write internal notes. Agents' daily work.
#[derive(Debug)]
pub struct HandleRequests;
/// Assign a request to another member of the team: who does what is the
/// gestionnaire's call.
#[derive(Debug)]
pub struct AssignRequests;
/// The feedback inbox ("Votre avis nous intéresse"): read, mark handled,
/// answer by mail.
#[derive(Debug)]
pub struct HandleFeedback;
/// Issue a resident's documents (attestations) from their page: what the
/// resident could get online, asked at the counter. Agents' work.
#[derive(Debug)]
pub struct IssueDocuments;
/// Read the online payments and ask the provider about one: agents answer
/// "did my payment go through?" at the counter.
#[derive(Debug)]
pub struct ReadPayments;

impl Permission for EnterBackOffice {
    const LEAST: StaffRole = StaffRole::Agent;
}
impl Permission for ReadResidents {
    const LEAST: StaffRole = StaffRole::Agent;
}
impl Permission for ManageResidents {
    const LEAST: StaffRole = StaffRole::Gestionnaire;
}
impl Permission for ImportResidents {
    const LEAST: StaffRole = StaffRole::Gestionnaire;
}
impl Permission for ManageStaff {
    const LEAST: StaffRole = StaffRole::Administrateur;
}
impl Permission for ReadJournal {
    const LEAST: StaffRole = StaffRole::Agent;
}
impl Permission for ManageTown {
    const LEAST: StaffRole = StaffRole::Administrateur;
}
impl Permission for PublishContent {
    const LEAST: StaffRole = StaffRole::Gestionnaire;
}
impl Permission for HandleRequests {
    const LEAST: StaffRole = StaffRole::Agent;
}
impl Permission for AssignRequests {
    const LEAST: StaffRole = StaffRole::Gestionnaire;
}
impl Permission for IssueDocuments {
    const LEAST: StaffRole = StaffRole::Agent;
}
impl Permission for ReadPayments {
    const LEAST: StaffRole = StaffRole::Agent;
}
impl Permission for HandleFeedback {
    const LEAST: StaffRole = StaffRole::Agent;
}

impl StaffRole {
    /// Whether this role has permission `P`.
    pub fn may<P: Permission>(self) -> bool {
        self >= P::LEAST
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parsed() {
        assert!(StaffRole::Agent < StaffRole::Gestionnaire);
        assert!(StaffRole::Gestionnaire < StaffRole::Administrateur);
        assert_eq!(
            StaffRole::parse(" Gestionnaire "),
            Some(StaffRole::Gestionnaire)
        );
        assert_eq!(StaffRole::parse("maire"), None);
        assert!(StaffRole::Agent.may::<ReadResidents>());
        assert!(!StaffRole::Agent.may::<ManageResidents>());
        assert!(!StaffRole::Gestionnaire.may::<ManageStaff>());
        assert!(StaffRole::Administrateur.may::<ManageTown>());
    }
}
