//! Which status a request may move to from its current one. One table for
//! every request; a request type declared in `tenant.toml` may narrow it
//! with `statuses` (an attestation is "Terminée" or "Refusée", never
//! "Acceptée").

use super::RequestStatus::{
    self, Accepted, Done, InProgress, Refused, Submitted, WaitingForInformation,
};

/// The table: from each status, where a member of the staff may take it.
/// "Déposée → En cours → En attente d'informations → Acceptée | Refusée |
/// Terminée". A request waiting for information goes back to "En cours"
/// when the resident answers (answer.rs), or when the agent got the answer
/// another way. An accepted request may still be marked done; refused and
/// done requests are over.
pub fn next_statuses(from: RequestStatus) -> &'static [RequestStatus] {
    match from {
        Submitted => &[InProgress, Refused],
        InProgress => &[WaitingForInformation, Accepted, Refused, Done],
        WaitingForInformation => &[InProgress, Accepted, Refused, Done],
        Accepted => &[Done],
        Refused | Done => &[],
    }
}

/// Whether `from → to` is in the table and among the statuses the request's
/// type allows (`None`: the type restricts nothing).
pub fn transition_allowed(
    from: RequestStatus,
    to: RequestStatus,
    allowed: Option<&[RequestStatus]>,
) -> bool {
    next_statuses(from).contains(&to) && allowed.is_none_or(|allowed| allowed.contains(&to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_allows_the_path_and_nothing_backwards() {
        assert!(transition_allowed(Submitted, InProgress, None));
        assert!(transition_allowed(InProgress, WaitingForInformation, None));
        assert!(transition_allowed(WaitingForInformation, InProgress, None));
        assert!(transition_allowed(InProgress, Accepted, None));
        assert!(transition_allowed(Accepted, Done, None));
        assert!(!transition_allowed(Submitted, Accepted, None));
        assert!(!transition_allowed(Done, InProgress, None));
        assert!(!transition_allowed(Refused, Accepted, None));
        assert!(!transition_allowed(InProgress, Submitted, None));
        assert!(!transition_allowed(InProgress, InProgress, None));
    }

    #[test]
    fn a_type_narrows_the_table() {
        let only = [InProgress, WaitingForInformation, Refused, Done];
        assert!(transition_allowed(InProgress, Done, Some(&only)));
        assert!(!transition_allowed(InProgress, Accepted, Some(&only)));
        // Never widens it.
        assert!(!transition_allowed(Submitted, Done, Some(&only)));
    }
}
