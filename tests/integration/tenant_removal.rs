//! `guichet tenant remove`: a town with one of every kind of data goes
//! away whole — every table of the schema checked, not a list — and the
//! other town keeps every row; the command names what goes, asks first,
//! refuses a town its folder still defines, writes the export before, and
//! records the removal; the running server stops serving the town.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::process::Output;

use guichet::staff::StaffRole;
use sea_orm::{ConnectionTrait as _, DatabaseConnection, Statement};

use crate::harness::{TestApp, repo_root, run_guichet};
use crate::privacy::{rich_resident, schema};

/// Tables that belong to no town.
const PLATFORM: &[&str] = &[
    "tenant",
    "tenant_removal",
    "module_release",
    "seaql_migrations",
];

async fn count(db: &DatabaseConnection, sql: String) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

/// Rows per table: of the town `id` where the table has `tenant_id`, all
/// rows elsewhere (the platform's tables aside).
async fn rows(db: &DatabaseConnection, id: i32) -> BTreeMap<String, i64> {
    let mut rows = BTreeMap::new();
    for (table, columns) in schema(db).await {
        if PLATFORM.contains(&table.as_str()) {
            continue;
        }
        let sql = if columns.contains_key("tenant_id") {
            format!("SELECT COUNT(*) AS n FROM \"{table}\" WHERE tenant_id = {id}")
        } else {
            format!("SELECT COUNT(*) AS n FROM \"{table}\"")
        };
        rows.insert(table, count(db, sql).await);
    }
    rows
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

on_both_databases! {
    async fn a_removed_town_leaves_no_row_and_the_other_town_every_row(backend) {
        let app = TestApp::spawn(backend).await;
        let db = app.app.db.clone();
        // Villeneuve: a resident with one of every kind of data, a member
        // of each role, an API key, a resident awaiting activation.
        let (_browser, owner) = rich_resident(&app).await;
        for role in [StaffRole::Gestionnaire, StaffRole::Agent] {
            app.ready_staff("villeneuve", role).await;
        }
        // Logged in: a staff session.
        app.staff("villeneuve", StaffRole::Administrateur).await;
        let villeneuve = app.town("villeneuve").await;
        app.app
            .staff
            .invite(
                &villeneuve,
                "nouvelle@villeneuve.fr",
                StaffRole::Agent,
                guichet::audit::Actor::System,
                &guichet::audit::Origin::default(),
            )
            .await
            .unwrap()
            .unwrap();
        guichet::api::ApiKeys::new(db.clone()).create(&villeneuve, "Facturation").await.unwrap();
        app.create_resident("villeneuve", "Jeanne", "Martin", "jeanne@example.org").await;
        // Saint-Martin: its own resident and staff, who must keep everything.
        app.active_resident("saint-martin", "sm@example.org").await;
        app.ready_staff("saint-martin", StaffRole::Administrateur).await;
        let saint_martin = app.town("saint-martin").await;

        let (v, s) = (villeneuve.id().get(), saint_martin.id().get());
        let villeneuve_before = rows(&db, v).await;
        let saint_martin_before = rows(&db, s).await;
        let columns = schema(&db).await;
        let owned: Vec<&String> = villeneuve_before
            .keys()
            .filter(|table| columns[*table].contains_key("tenant_id"))
            .collect();
        let empty: Vec<&&String> = owned.iter().filter(|table| villeneuve_before[**table] == 0).collect();
        assert!(empty.len() <= 10, "Villeneuve has no rows in {empty:?}");
        eprintln!("tables with no row of Villeneuve: {empty:?}");
        // A request's history has no tenant_id: its rows hang from the request.
        let history = format!(
            "SELECT COUNT(*) AS n FROM request_event e JOIN request r ON r.id = e.request_id \
             WHERE r.tenant_id = {v}"
        );
        assert!(count(&db, history.clone()).await > 0);
        // Saint-Martin's, counted the same way by the test itself: kept whole.
        let other_history = format!(
            "SELECT COUNT(*) AS n FROM request_event e JOIN request r ON r.id = e.request_id \
             WHERE r.tenant_id = {s}"
        );
        let other_history_before = count(&db, other_history.clone()).await;
        assert!(other_history_before > 0, "the demo resident's request in Saint-Martin has a history");

        let dir = tempfile::tempdir().unwrap();
        let env = [("GUICHET_DATABASE_URL", app.app.config.database_url.as_str())];
        let remove = |args: &[&str]| run_guichet(dir.path(), &[&["tenant", "remove"], args].concat(), &env);

        // Its folder still defines it: refused, naming the folder.
        let tenants = repo_root().join("tenants");
        let refused = remove(&["villeneuve", "--folder", tenants.to_str().unwrap(), "--yes"]);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        assert!(text(&refused).contains("still defines the town `villeneuve`"), "{}", text(&refused));
        // No terminal to confirm on, and no --yes: refused, after the counts.
        let unconfirmed = remove(&["villeneuve"]);
        assert_eq!(unconfirmed.status.code(), Some(1), "{}", text(&unconfirmed));
        let said = text(&unconfirmed);
        assert!(said.contains("Removing villeneuve (Ville de Villeneuve) takes away, for good:"), "{said}");
        let accounts = villeneuve_before["account"];
        assert!(
            said.lines().any(|line| line.trim_start().starts_with("residents' accounts")
                && line.trim_end().ends_with(&format!(" {accounts}"))),
            "{said}"
        );
        assert!(said.contains("pass --yes"), "{said}");
        assert_eq!(rows(&db, v).await, villeneuve_before, "nothing went without a confirmation");
        // An unknown town.
        let unknown = remove(&["nulle-part", "--yes"]);
        assert!(text(&unknown).contains("no town `nulle-part`"), "{}", text(&unknown));

        // Removed, with its export first.
        let removed = remove(&["villeneuve", "--yes", "--export", "villeneuve.zip"]);
        assert!(removed.status.success(), "{}", text(&removed));
        assert!(text(&removed).contains("removed   villeneuve:"), "{}", text(&removed));

        // Every table with a tenant_id: no row of Villeneuve. Tables without
        // one lost exactly the rows that hung from Villeneuve's.
        let after = rows(&db, v).await;
        for table in &owned {
            assert_eq!(after[*table], 0, "{table} still holds rows of the removed town");
        }
        assert_eq!(count(&db, history).await, 0);
        assert_eq!(count(&db, other_history).await, other_history_before);
        // Saint-Martin: every row of every table, where it was.
        let saint_martin_after = rows(&db, s).await;
        for (table, before) in &saint_martin_before {
            if columns[table].contains_key("tenant_id") {
                assert_eq!(saint_martin_after[table], *before, "{table} lost rows of the other town");
            }
        }
        // Tables without tenant_id lost only Villeneuve's rows, as counted
        // when the removal was recorded.
        let recorded: (String, String) = {
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT slug, rows_by_table FROM tenant_removal",
                ))
                .await
                .unwrap()
                .unwrap();
            (row.try_get("", "slug").unwrap(), row.try_get("", "rows_by_table").unwrap())
        };
        assert_eq!(recorded.0, "villeneuve");
        let by_table: BTreeMap<String, i64> = serde_json::from_str(&recorded.1).unwrap();
        for (table, before) in &saint_martin_before {
            if !columns[table].contains_key("tenant_id") {
                let gone = by_table.get(table).copied().unwrap_or(0);
                assert_eq!(saint_martin_after[table], before - gone, "{table}");
            }
        }
        assert_eq!(
            count(&db, format!("SELECT COUNT(*) AS n FROM tenant WHERE id = {v}")).await,
            0
        );

        // The export: readable by its owner only, a JSON array per table,
        // the resident among the accounts.
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("villeneuve.zip")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut archive = zip::ZipArchive::new(std::fs::File::open(dir.path().join("villeneuve.zip")).unwrap()).unwrap();
        let names: BTreeSet<String> = (0..archive.len()).map(|i| archive.by_index(i).unwrap().name().unwrap().into_owned()).collect();
        assert!(names.contains("commune.json") && names.contains("account.json") && names.contains("request_event.json"), "{names:?}");
        let mut accounts_json = String::new();
        archive.by_name("account.json").unwrap().read_to_string(&mut accounts_json).unwrap();
        let exported: Vec<serde_json::Value> = serde_json::from_str(&accounts_json).unwrap();
        assert_eq!(exported.len() as i64, accounts);
        assert!(exported.iter().any(|row| row["identifier"] == owner.identifier.as_str()));
        // Refused rather than overwritten.
        app.create_resident("saint-martin", "Paul", "Durand", "paul@example.org").await;
        let again = remove(&["saint-martin", "--yes", "--export", "villeneuve.zip"]);
        assert!(text(&again).contains("already exists"), "{}", text(&again));

        // The running server no longer knows the town (its cache follows
        // the change: NOTIFY on PostgreSQL, the change stamp on SQLite).
        let mut status = 0;
        for _ in 0..40 {
            status = app.get("villeneuve.localhost", "/connexion").await.status;
            if status == 404 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(status, 404);
        assert_eq!(app.get("saint-martin.localhost", "/connexion").await.status, 200);
    }
}
