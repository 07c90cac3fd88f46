//! Module storage bounds: writes per `act` call (puts and deletes together,
//! and bytes), and the quotas per resident and per town, against the
//! purpose-built `hoarder` module; the quota checked again where the writes
//! are committed, so that concurrent calls cannot overrun it; the figures in
//! `/metrics` and `guichet module usage`.

use std::collections::BTreeMap;

use guichet::modules::storage::{self, CommitError, DataError, DataScope, StorageError};
use guichet::modules::{
    ModuleEnablement, QuotaScope, StorageQuota, StorageRefusal, StorageSetting,
};
use guichet::towns::{TownDefinition, load_definitions};

use crate::harness::{TestApp, Visitor, repo_root};

const ETAT: &str = "/services/hoarder/etat";
const REMPLIR: &str = "/services/hoarder/actions/remplir";
const VIDER: &str = "/services/hoarder/actions/vider";
const UNAVAILABLE: &str = "Ce service est momentanément indisponible.";

fn built_module(crate_name: &str) -> Vec<u8> {
    let path =
        std::path::PathBuf::from(env!("MODULES_BUILD_DIR")).join(format!("{crate_name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The demo towns, with the hoarder enabled in Villeneuve under these
/// quotas (none: the server's).
async fn with_hoarder(app: &TestApp, storage: Option<StorageSetting>) {
    app.app
        .modules
        .publish(&built_module("guichet_module_hoarder"))
        .await
        .unwrap();
    let mut towns: Vec<TownDefinition> = load_definitions(&repo_root().join("tenants")).unwrap();
    let villeneuve = towns
        .iter_mut()
        .find(|town| town.definition.slug == "villeneuve")
        .unwrap();
    villeneuve
        .definition
        .edit_section(|modules: &mut Vec<ModuleEnablement>| {
            modules.push(ModuleEnablement {
                id: "hoarder".to_owned(),
                version: "^0.1".to_owned(),
                config: serde_json::json!({}),
                storage,
            })
        })
        .unwrap();
    app.app.apply_towns(&towns).await.unwrap();
}

/// The text of the `<dd>` after `<dt>label</dt>` on a page.
fn described(html: &str, label: &str) -> String {
    let marker = format!("<dt>{label}</dt><dd>");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {label} in:\n{html}"))
        + marker.len();
    let end = start + html[start..].find("</dd>").unwrap();
    html[start..end].to_owned()
}

async fn resident_entries(browser: &mut Visitor) -> String {
    described(&browser.get(ETAT).await.body, "entrées du résident")
}

/// Submits one of the hoarder's forms; the page the resident then sees
/// (the flash after a redirect, or the error page).
async fn hoard(browser: &mut Visitor, action: &str, fields: &[(&str, &str)]) -> (u16, String) {
    let answer = browser.submit(ETAT, action, fields).await;
    if answer.status == 303 {
        return (303, browser.get(ETAT).await.body);
    }
    (answer.status, answer.body)
}

on_both_databases! {
    async fn one_act_writes_at_most_100_values_and_256_kib(backend) {
        let app = TestApp::spawn(backend).await;
        with_hoarder(&app, None).await;
        let (mut browser, _) = app.active_resident("villeneuve", "h@example.org").await;

        // 500 puts in one call: the 101st is refused, the module fails, and
        // nothing of the call is written.
        let (status, page) = hoard(&mut browser, REMPLIR, &[("nombre", "500")]).await;
        assert_eq!(status, 503, "{page}");
        assert!(page.contains(UNAVAILABLE), "{page}");
        assert_eq!(resident_entries(&mut browser).await, "0");
        // The refusal is a typed error the module can answer itself.
        let (status, page) = hoard(&mut browser, REMPLIR, &[("nombre", "500"), ("signaler", "oui")]).await;
        assert_eq!(status, 303);
        assert!(page.contains("100 écriture(s) acceptée(s), puis refus : StorageError::TooLarge."), "{page}");
        assert_eq!(resident_entries(&mut browser).await, "100");

        // 64 KiB values: the fourth would take the call past 256 KiB.
        let big = [("nombre", "5"), ("taille", "65536"), ("prefixe", "gros"), ("signaler", "oui")];
        let (_, page) = hoard(&mut browser, REMPLIR, &big).await;
        assert!(page.contains("3 écriture(s) acceptée(s), puis refus : StorageError::TooLarge."), "{page}");
        assert_eq!(resident_entries(&mut browser).await, "103");

        // Deletes count too: 50,000 in one call fail it, and nothing is
        // deleted; reported, the first 100 go through.
        let (status, _) = hoard(&mut browser, VIDER, &[("nombre", "50000")]).await;
        assert_eq!(status, 503);
        assert_eq!(resident_entries(&mut browser).await, "103");
        let (_, page) = hoard(&mut browser, VIDER, &[("nombre", "50000"), ("signaler", "oui")]).await;
        assert!(page.contains("100 écriture(s) acceptée(s), puis refus : StorageError::TooLarge."), "{page}");
        assert_eq!(resident_entries(&mut browser).await, "3");

        let metrics = app.app.modules.host().metrics();
        assert_eq!(metrics.refusals(StorageRefusal::WritesPerCall), 4, "once per call, not per write");
        assert_eq!(metrics.refusals(StorageRefusal::BytesPerCall), 1);
        let text = app.get("127.0.0.1", "/metrics").await.body;
        assert!(
            text.contains(r#"guichet_module_storage_refusals_total{town="villeneuve",module="hoarder",version="0.1.0",reason="writes_per_call"} 4"#),
            "{text}"
        );
        assert!(text.contains(r#"guichet_module_storage_entries{town="villeneuve",module="hoarder"} 3"#), "{text}");
    }

    async fn a_module_has_a_storage_quota_per_resident_and_per_town(backend) {
        let app = TestApp::spawn(backend).await;
        // 100 KiB per resident, 200 KiB for the town.
        with_hoarder(&app, Some(StorageSetting { resident_kib: Some(100), town_kib: Some(200) })).await;
        // Each value counts 30,000 + 8 (key) + 64 (row) = 30,072 bytes.
        let three = [("nombre", "3"), ("taille", "30000")];
        let (mut alice, _) = app.active_resident("villeneuve", "alice@example.org").await;
        assert_eq!(hoard(&mut alice, REMPLIR, &three).await.0, 303);
        assert_eq!(resident_entries(&mut alice).await, "3");

        // A fourth would take Alice past 100 KiB (102,400 bytes): refused
        // with nothing written, as a failure or as a typed error.
        let fourth = [("nombre", "1"), ("taille", "30000"), ("prefixe", "autre")];
        let (status, page) = hoard(&mut alice, REMPLIR, &fourth).await;
        assert_eq!(status, 503, "{page}");
        assert!(page.contains(UNAVAILABLE));
        let reported = [fourth.as_slice(), &[("signaler", "oui")]].concat();
        let (_, page) = hoard(&mut alice, REMPLIR, &reported).await;
        assert!(page.contains("0 écriture(s) acceptée(s), puis refus : StorageError::TooLarge."), "{page}");
        assert_eq!(resident_entries(&mut alice).await, "3");
        // Deleting is always allowed, and makes room.
        assert_eq!(hoard(&mut alice, VIDER, &[("nombre", "1")]).await.0, 303);
        assert_eq!(resident_entries(&mut alice).await, "2");

        // The town's quota: Bob fills his own, then Carol finds the town's
        // 200 KiB (204,800 bytes) nearly used: two values are too many, one
        // fits.
        let (mut bob, _) = app.active_resident("villeneuve", "bob@example.org").await;
        assert_eq!(hoard(&mut bob, REMPLIR, &three).await.0, 303);
        let (mut carol, _) = app.active_resident("villeneuve", "carol@example.org").await;
        let (status, _) = hoard(&mut carol, REMPLIR, &[("nombre", "2"), ("taille", "30000")]).await;
        assert_eq!(status, 503);
        assert_eq!(resident_entries(&mut carol).await, "0");
        assert_eq!(hoard(&mut carol, REMPLIR, &[("nombre", "1"), ("taille", "30000")]).await.0, 303);

        let metrics = app.app.modules.host().metrics();
        assert_eq!(metrics.refusals(StorageRefusal::ResidentQuota), 2);
        assert_eq!(metrics.refusals(StorageRefusal::TownQuota), 1);

        // What the town's operator and the platform's scraper see.
        let villeneuve = app.town("villeneuve").await;
        let usage = app.app.modules.storage_usage(&villeneuve).await.unwrap();
        let hoarder = usage.iter().find(|module| module.module_id == "hoarder").unwrap();
        assert_eq!((hoarder.bytes, hoarder.entries, hoarder.residents), (6 * 30_072, 6, 3));
        assert_eq!(hoarder.largest_resident_bytes, 3 * 30_072);
        assert_eq!(hoarder.quota, StorageQuota { resident_bytes: 102_400, town_bytes: 204_800 });
        let text = app.get("127.0.0.1", "/metrics").await.body;
        for line in [
            r#"guichet_module_storage_bytes{town="villeneuve",module="hoarder"} 180432"#,
            r#"guichet_module_storage_town_quota_bytes{town="villeneuve",module="hoarder"} 204800"#,
            r#"guichet_module_storage_resident_quota_bytes{town="villeneuve",module="hoarder"} 102400"#,
        ] {
            assert!(text.contains(line), "{line} in:\n{text}");
        }
    }

    async fn a_commit_over_the_quota_writes_nothing_even_when_calls_race(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let resident = app.create_resident("villeneuve", "Léa", "Quota", "lea@example.org").await;
        let town_scope = DataScope::town(&town, "hoarder");
        let resident_scope = DataScope::resident(&town, "hoarder", resident.account_id);
        let value = "v".repeat(1000);
        let entry = storage::entry_bytes("a", &value);
        let writes = |keys: &[&str]| -> BTreeMap<(bool, String), Option<String>> {
            keys.iter().map(|key| ((true, (*key).to_owned()), Some(value.clone()))).collect()
        };
        // Room for three entries per resident.
        let quota = StorageQuota { resident_bytes: 3 * entry, town_bytes: 10 * entry };

        let transaction = guichet::db::begin_write(&app.app.db).await.unwrap();
        let refused = storage::commit(&transaction, &town_scope, Some(&resident_scope), &writes(&["a", "b", "c", "d"]), quota).await;
        assert!(
            matches!(refused, Err(CommitError::Quota(exceeded)) if exceeded.scope == QuotaScope::Resident && exceeded.used == 4 * entry),
            "{refused:?}"
        );
        drop(transaction);
        assert_eq!(storage::get(&app.app.db, &resident_scope, "a").await.unwrap(), None, "nothing written");
        assert_eq!(storage::usage(&app.app.db, town.scope(), "hoarder", Some(resident.account_id)).await.unwrap(), (0, 0));

        // Two calls each within the quota, together over it: the second to
        // commit waits for the first, then sees its writes and is refused.
        let first = guichet::db::begin_write(&app.app.db).await.unwrap();
        storage::commit(&first, &town_scope, Some(&resident_scope), &writes(&["a", "b"]), quota).await.unwrap();
        let second = {
            let db = app.app.db.clone();
            let (town_scope, resident_scope) = (town_scope.clone(), resident_scope.clone());
            let writes = writes(&["c", "d"]);
            tokio::spawn(async move {
                let transaction = guichet::db::begin_write(&db).await.unwrap();
                let result = storage::commit(&transaction, &town_scope, Some(&resident_scope), &writes, quota).await;
                if result.is_ok() {
                    transaction.commit().await.unwrap();
                }
                result
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        first.commit().await.unwrap();
        let second = second.await.unwrap();
        assert!(matches!(second, Err(CommitError::Quota(_))), "{second:?}");
        assert_eq!(storage::usage(&app.app.db, town.scope(), "hoarder", Some(resident.account_id)).await.unwrap(), (2 * entry, 2 * entry));
        assert_eq!(storage::get(&app.app.db, &resident_scope, "c").await.unwrap(), None);

        // Over the quota (lowered, or filled by the town's software), a call
        // may still shrink what it stores.
        let lower = StorageQuota { resident_bytes: entry, town_bytes: entry };
        let shrink: BTreeMap<(bool, String), Option<String>> = [((true, "a".to_owned()), None)].into();
        let transaction = guichet::db::begin_write(&app.app.db).await.unwrap();
        storage::commit(&transaction, &town_scope, Some(&resident_scope), &shrink, lower).await.unwrap();
        transaction.commit().await.unwrap();
        assert_eq!(storage::usage(&app.app.db, town.scope(), "hoarder", Some(resident.account_id)).await.unwrap(), (entry, entry));
    }

    async fn a_scope_holds_at_most_its_entries_and_residents_entries_do_not_fill_the_town_s(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let resident = app.create_resident("villeneuve", "Léa", "Entrées", "lea@example.org").await;
        let town_scope = DataScope::town(&town, "hoarder").with_max_entries(3);
        let resident_scope = DataScope::resident(&town, "hoarder", resident.account_id).with_max_entries(2);
        let quota = StorageQuota { resident_bytes: 1 << 20, town_bytes: 1 << 20 };
        let put = |keys: &[(bool, &str)]| -> BTreeMap<(bool, String), Option<String>> {
            keys.iter().map(|(resident, key)| ((*resident, (*key).to_owned()), Some("v".to_owned()))).collect()
        };
        let commit = |writes: BTreeMap<(bool, String), Option<String>>| {
            let (db, town_scope, resident_scope) = (app.app.db.clone(), town_scope.clone(), resident_scope.clone());
            async move {
                let transaction = guichet::db::begin_write(&db).await.unwrap();
                let result = storage::commit(&transaction, &town_scope, Some(&resident_scope), &writes, quota).await;
                if result.is_ok() {
                    transaction.commit().await.unwrap();
                }
                result
            }
        };
        let full = |result: Result<(), CommitError>| {
            matches!(result, Err(CommitError::Write(StorageError::Data(DataError::ScopeFull))))
        };

        // The resident's two entries: the town's counter says 2 of the
        // town scope's 3, yet the town scope itself holds none.
        commit(put(&[(true, "r1"), (true, "r2")])).await.unwrap();
        let third = commit(put(&[(true, "r3")])).await;
        assert!(full(third), "a resident scope past its entries");
        // Three town entries fit (counted exactly once the bound is
        // reached), a fourth does not, nor does one more in the same call.
        commit(put(&[(false, "t1"), (false, "t2")])).await.unwrap();
        commit(put(&[(false, "t3")])).await.unwrap();
        assert!(full(commit(put(&[(false, "t4")])).await));
        assert!(full(commit(put(&[(false, "t1"), (false, "t5")])).await), "an update beside an insert past the limit");
        assert_eq!(storage::get(&app.app.db, &town_scope, "t5").await.unwrap(), None, "nothing written");
        // Rewriting an entry of a full scope is not inserting one.
        commit(put(&[(false, "t1")])).await.unwrap();
        // Deleting makes room, in the same call as the insert too.
        let swap: BTreeMap<(bool, String), Option<String>> =
            [((false, "t1".to_owned()), None), ((false, "t9".to_owned()), Some("v".to_owned()))].into();
        commit(swap).await.unwrap();
        let delete: BTreeMap<(bool, String), Option<String>> = [((false, "t2".to_owned()), None)].into();
        commit(delete).await.unwrap();
        commit(put(&[(false, "t4")])).await.unwrap();
        assert_eq!(storage::count(&app.app.db, &town_scope, "t").await.unwrap(), 3);

        // Two calls racing for the last entry: the second to commit waits
        // for the first, then finds the scope full.
        let delete: BTreeMap<(bool, String), Option<String>> = [((false, "t9".to_owned()), None)].into();
        commit(delete).await.unwrap();
        let first = guichet::db::begin_write(&app.app.db).await.unwrap();
        storage::commit(&first, &town_scope, Some(&resident_scope), &put(&[(false, "u1")]), quota).await.unwrap();
        let second = tokio::spawn(commit(put(&[(false, "u2")])));
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        first.commit().await.unwrap();
        assert!(full(second.await.unwrap()), "the last entry taken twice");
        assert_eq!(storage::count(&app.app.db, &town_scope, "").await.unwrap(), 3);
    }

    async fn keys_list_in_byte_order_and_prefixes_are_literal_on_both_databases(backend) {
        let app = TestApp::spawn(backend).await;
        let town = app.town("villeneuve").await;
        let scope = DataScope::town(&town, "hoarder");
        for key in ["b", "B", "a-b", "a_b", "ab", "a%c", "é", "e", "a_", "A-x"] {
            storage::write(&app.app.db, &scope, key, Some("v")).await.unwrap();
        }
        let keys = |entries: Vec<(String, String)>| entries.into_iter().map(|(key, _)| key).collect::<Vec<_>>();
        // Byte order, the same on SQLite and PostgreSQL (not the database's
        // linguistic order, where case and punctuation weigh less).
        assert_eq!(keys(storage::list(&app.app.db, &scope, "").await.unwrap()), ["A-x", "B", "a%c", "a-b", "a_", "a_b", "ab", "b", "e", "é"]);
        // `_` and `%` are characters, not wildcards; case counts.
        assert_eq!(keys(storage::list(&app.app.db, &scope, "a_").await.unwrap()), ["a_", "a_b"]);
        assert_eq!(keys(storage::list(&app.app.db, &scope, "a%").await.unwrap()), ["a%c"]);
        assert_eq!(keys(storage::list(&app.app.db, &scope, "A").await.unwrap()), ["A-x"]);
        assert_eq!(storage::count(&app.app.db, &scope, "a").await.unwrap(), 5);
    }
}
