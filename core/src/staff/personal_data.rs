//! The staff's tables, as the privacy rules see them (privacy/declare.rs).

use crate::privacy::declare::{Holds, Table};

const STAFF: &str = "the town's staff: their data follows their staff account, \
                     suspended or removed by the town's administrators";

pub const TABLES: &[Table] = &[
    Table {
        name: "staff_member",
        label: "Agents",
        holds: Holds::Others(STAFF),
    },
    Table {
        name: "staff_recovery_code",
        label: "Codes de secours des agents",
        holds: Holds::Others(STAFF),
    },
    Table {
        name: "staff_invitation",
        label: "Invitations d'agents",
        holds: Holds::Others(STAFF),
    },
    Table {
        name: "staff_session",
        label: "Sessions d'agents",
        holds: Holds::Others(STAFF),
    },
];
