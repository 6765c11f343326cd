//! Migration 0008 makes names unique per project (and one unfinished job per target). A
//! database holding duplicates, which racing requests could create before it, migrates
//! without losing a row: later duplicates are renamed, later unfinished jobs cancelled.

use sqlx::Connection;
use uuid::Uuid;
use vizhook_store::{
    Content, ContentChange, ContentRef, Datasource, FINISH_SUCCESS, Identity, Job,
    testkit::{T0, seed},
};
use vizhook_store_sqlite::SqliteStore;

/// Undoes migration 0008 and renames `from` to `to` in `table`, creating a duplicate.
const BEFORE_0008: &str = "
    DROP INDEX datasources_project_name;
    DROP INDEX workbooks_project_name;
    DROP INDEX projects_sibling_name;
    DROP INDEX jobs_unfinished;
    DROP INDEX labels_target_value;
    DROP INDEX datasources_site_content_url;
    DROP INDEX workbooks_site_content_url;
    CREATE INDEX jobs_unfinished ON jobs (target_id) WHERE completed_at IS NULL;
    DELETE FROM _sqlx_migrations WHERE version = 8;
    UPDATE datasources SET name = 'SALES' WHERE name = 'Sales 2';
    UPDATE jobs SET completed_at = NULL, finish_code = NULL WHERE progress = 100;
";

#[tokio::test]
async fn duplicates_from_before_the_unique_indexes_are_renamed_not_lost() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("old.db").display());
    let seed = seed();
    let (site, project) = (seed.site.id, seed.default_project.id);
    let datasource = |name: &str| Datasource {
        id: Uuid::new_v4().to_string().parse().unwrap(),
        site_id: site,
        project_id: project,
        owner_id: seed.user_id,
        name: name.to_owned(),
        content_url: name.replace(' ', ""),
        file_type: "tds".to_owned(),
        description: String::new(),
        is_certified: false,
        certification_note: String::new(),
        has_extracts: false,
        size: 1,
        created_at: T0,
        updated_at: T0,
    };
    let (first, second) = (datasource("Sales"), datasource("Sales 2"));
    let job = |progress| Job {
        id: Uuid::new_v4().to_string().parse().unwrap(),
        site_id: site,
        target: ContentRef::Datasource(first.id),
        target_name: first.name.clone(),
        created_at: T0,
        started_at: Some(T0),
        completed_at: (progress == 100).then_some(T0),
        progress,
        finish_code: (progress == 100).then_some(FINISH_SUCCESS),
        notes: String::new(),
    };
    let (running, finished) = (job(0), job(100));
    {
        let store = SqliteStore::open(&url).await.expect("open");
        store.bootstrap(&seed).await.unwrap();
        let save = |datasource: &Datasource| ContentChange::SaveDatasource {
            datasource: datasource.clone(),
            connections: None,
        };
        let changes = [
            save(&first),
            save(&second),
            ContentChange::SaveJob(running.clone()),
            ContentChange::SaveJob(finished.clone()),
        ];
        store.apply(&changes, &[]).await.unwrap();
        store.close().await;
    }
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(BEFORE_0008).execute(&mut raw).await.unwrap();
    raw.close().await.unwrap();

    let store = SqliteStore::open(&url).await.expect("migrates");
    let mut names: Vec<String> = store
        .datasources(site)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "SALES (".to_owned() + &second.id.to_string() + ")",
            "Sales".to_owned()
        ]
    );
    let target = ContentRef::Datasource(first.id);
    assert_eq!(
        store.unfinished_jobs(Some(target)).await.unwrap(),
        vec![running]
    );
    let cancelled = store.job(site, finished.id).await.unwrap().expect("kept");
    assert_eq!(cancelled.finish_code, Some(2));
    assert!(
        cancelled.notes.starts_with("Cancelled"),
        "{}",
        cancelled.notes
    );
}
