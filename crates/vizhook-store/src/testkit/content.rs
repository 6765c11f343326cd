//! Conformance checks for site content: round trips, cascades, labels, jobs, and the rule that
//! a change and the events it fires commit or fail together.

use time::Duration;
use vizhook_core::*;

use super::fixtures::{T0, fresh, project_for, seed, webhook};
use crate::*;

fn event(site: SiteId, kind: EventKind) -> PublishEvent {
    let event = Event {
        id: fresh(),
        kind,
        resource: kind.default_resource(),
        resource_name: "x".to_owned(),
        site_id: site,
        resource_luid: "1".to_owned(),
        created_at: T0,
    };
    PublishEvent {
        event,
        payload: b"{}".to_vec(),
    }
}

fn datasource(site: SiteId, project: ProjectId, owner: UserId, name: &str) -> Datasource {
    Datasource {
        id: fresh(),
        site_id: site,
        project_id: project,
        owner_id: owner,
        name: name.to_owned(),
        content_url: name.to_lowercase(),
        file_type: "tdsx".to_owned(),
        description: String::new(),
        is_certified: false,
        certification_note: String::new(),
        has_extracts: true,
        size: 1234,
        created_at: T0,
        updated_at: T0,
    }
}

fn connection(site: SiteId, owner: ContentRef, server: &str) -> Connection {
    Connection {
        id: fresh(),
        site_id: site,
        owner,
        class: "postgres".to_owned(),
        server: server.to_owned(),
        port: "5432".to_owned(),
        dbname: "sales".to_owned(),
        username: "etl".to_owned(),
        password: Some("secret".to_owned()),
        embed_password: true,
    }
}

fn workbook(site: SiteId, project: ProjectId, owner: UserId, name: &str) -> Workbook {
    Workbook {
        id: fresh(),
        site_id: site,
        project_id: project,
        owner_id: owner,
        name: name.to_owned(),
        content_url: name.to_lowercase(),
        description: String::new(),
        show_tabs: true,
        size: 10,
        created_at: T0,
        updated_at: T0,
    }
}

fn view(site: SiteId, workbook: WorkbookId, name: &str) -> View {
    View {
        id: fresh(),
        site_id: site,
        workbook_id: workbook,
        name: name.to_owned(),
        content_url: name.to_owned(),
        created_at: T0,
    }
}

/// A seeded store and its Default site's id, Default project id and administrator.
async fn seeded(store: &impl Identity) -> (SiteId, ProjectId, UserId) {
    let seed = seed();
    store.bootstrap(&seed).await.unwrap();
    (seed.site.id, seed.default_project.id, seed.user_id)
}

pub async fn content_round_trips_with_connections_and_views(store: &(impl Identity + Content)) {
    let (site, project, owner) = seeded(store).await;
    assert_eq!(
        store
            .projects(site)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        [project],
        "seeded with a Default project"
    );
    let ds = datasource(site, project, owner, "Sales");
    let target = ContentRef::Datasource(ds.id);
    let conn = connection(site, target, "db.example.com");
    store
        .apply(
            &[ContentChange::SaveDatasource {
                datasource: ds.clone(),
                connections: Some(vec![conn.clone()]),
            }],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store.datasource(site, ds.id).await.unwrap(),
        Some(ds.clone())
    );
    assert_eq!(
        store.connections(site, target).await.unwrap(),
        vec![conn.clone()]
    );

    let moved = Connection {
        server: "unreachable.invalid".to_owned(),
        password: Some("new".to_owned()),
        ..conn.clone()
    };
    store
        .apply(&[ContentChange::SaveConnection(moved.clone())], &[])
        .await
        .unwrap();
    assert_eq!(store.connections(site, target).await.unwrap(), vec![moved]);
    let renamed = Datasource {
        name: "Sales v2".to_owned(),
        updated_at: T0 + Duration::minutes(1),
        ..ds.clone()
    };
    store
        .apply(
            &[ContentChange::SaveDatasource {
                datasource: renamed.clone(),
                connections: None,
            }],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(store.datasources(site).await.unwrap(), vec![renamed]);
    assert_eq!(
        store.connections(site, target).await.unwrap().len(),
        1,
        "connections kept when not given"
    );

    let wb = workbook(site, project, owner, "Overview");
    let views = vec![view(site, wb.id, "Sheet 1"), view(site, wb.id, "Dashboard")];
    let change = ContentChange::SaveWorkbook {
        workbook: wb.clone(),
        views: Some(views.clone()),
        connections: Some(vec![]),
    };
    store.apply(&[change], &[]).await.unwrap();
    assert_eq!(store.workbook(site, wb.id).await.unwrap(), Some(wb.clone()));
    assert_eq!(
        store.views(site, Some(wb.id)).await.unwrap(),
        views,
        "views keep their order"
    );
    store
        .apply(
            &[ContentChange::DeleteView {
                site,
                id: views[0].id,
            }],
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        store.views(site, None).await.unwrap(),
        vec![views[1].clone()]
    );
    assert_eq!(
        store.view(site, views[1].id).await.unwrap(),
        Some(views[1].clone())
    );

    store
        .apply(
            &[
                ContentChange::DeleteWorkbook { site, id: wb.id },
                ContentChange::DeleteDatasource { site, id: ds.id },
            ],
            &[],
        )
        .await
        .unwrap();
    assert!(store.workbook(site, wb.id).await.unwrap().is_none());
    assert!(
        store.views(site, None).await.unwrap().is_empty(),
        "views go with their workbook"
    );
    assert!(
        store.connections(site, target).await.unwrap().is_empty(),
        "connections go with their data source"
    );
}

pub async fn a_failing_change_publishes_nothing(
    store: &(impl Identity + Webhooks + Content + Outbox),
) {
    let (site, project, owner) = seeded(store).await;
    let hook = Webhook {
        event: EventKind::DatasourceDeleted,
        ..webhook(site, owner, "h")
    };
    store.create_webhook(&hook).await.unwrap();
    let missing = ContentChange::DeleteDatasource { site, id: fresh() };
    let result = store
        .apply(&[missing], &[event(site, EventKind::DatasourceDeleted)])
        .await;
    assert!(matches!(result, Err(StoreError::NotFound)));
    assert!(
        store
            .deliveries(
                site,
                hook.id,
                &DeliveryQuery {
                    limit: 10,
                    ..DeliveryQuery::default()
                }
            )
            .await
            .unwrap()
            .is_empty(),
        "no event without its change"
    );

    let ds = datasource(site, project, owner, "Gone");
    store
        .apply(
            &[ContentChange::SaveDatasource {
                datasource: ds.clone(),
                connections: None,
            }],
            &[],
        )
        .await
        .unwrap();
    let published = store
        .apply(
            &[ContentChange::DeleteDatasource { site, id: ds.id }],
            &[event(site, EventKind::DatasourceDeleted)],
        )
        .await
        .unwrap();
    assert_eq!(
        published[0].deliveries, 1,
        "the change and its event commit together"
    );
}

pub async fn projects_cascade_and_labels_are_unique_per_value(
    store: &(impl Identity + Sites + Content),
) {
    let (site, default_project, owner) = seeded(store).await;
    let parent = Project {
        id: fresh(),
        name: "Finance".to_owned(),
        ..project_for(&super::fixtures::site("x", "x"))
    };
    let parent = Project {
        site_id: site,
        ..parent
    };
    let child = Project {
        id: fresh(),
        name: "Finance/Reports".to_owned(),
        parent_id: Some(parent.id),
        ..parent.clone()
    };
    store
        .apply(
            &[
                ContentChange::SaveProject(parent.clone()),
                ContentChange::SaveProject(child.clone()),
            ],
            &[],
        )
        .await
        .unwrap();
    let ds = datasource(site, child.id, owner, "Deep");
    store
        .apply(
            &[ContentChange::SaveDatasource {
                datasource: ds.clone(),
                connections: None,
            }],
            &[],
        )
        .await
        .unwrap();
    let label = Label {
        id: fresh(),
        site_id: site,
        target: ContentRef::Datasource(ds.id),
        target_name: ds.name.clone(),
        value: "Deprecated".to_owned(),
        category: "warning".to_owned(),
        message: "use v2".to_owned(),
        active: true,
        elevated: false,
        author_id: owner,
        created_at: T0,
        updated_at: T0,
    };
    store
        .apply(&[ContentChange::SaveLabels(vec![label.clone()])], &[])
        .await
        .unwrap();
    for value in ["Deprecated", "DEPRECATED"] {
        let duplicate = Label {
            id: fresh(),
            value: value.to_owned(),
            ..label.clone()
        };
        let err = store
            .apply(&[ContentChange::SaveLabels(vec![duplicate])], &[])
            .await
            .unwrap_err();
        assert!(err.is_conflict_on("labels.value"), "{err:?}");
    }
    assert_eq!(
        store
            .labels(site, &[ContentRef::Datasource(ds.id)])
            .await
            .unwrap(),
        vec![label.clone()]
    );
    assert_eq!(
        store.label(site, label.id).await.unwrap(),
        Some(label.clone())
    );

    store
        .apply(
            &[ContentChange::DeleteProject {
                site,
                id: parent.id,
            }],
            &[],
        )
        .await
        .unwrap();
    let left: Vec<ProjectId> = store
        .projects(site)
        .await
        .unwrap()
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(left, [default_project], "sub-projects go with their parent");
    assert!(store.datasource(site, ds.id).await.unwrap().is_none());
    assert!(
        store.label(site, label.id).await.unwrap().is_none(),
        "labels go with their asset"
    );
    assert!(matches!(
        store
            .apply(
                &[ContentChange::DeleteProject {
                    site,
                    id: parent.id
                }],
                &[]
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let other = super::fixtures::site("Other", "other");
    store
        .create_site(&other, &project_for(&other), &[])
        .await
        .unwrap();
    assert!(store.datasources(other.id).await.unwrap().is_empty());
}

pub async fn jobs_finish_and_site_and_user_changes_fire_events(
    store: &(impl Identity + Sites + Webhooks + Content),
) {
    let (site, project, owner) = seeded(store).await;
    let ds = datasource(site, project, owner, "Refreshing");
    store
        .apply(
            &[ContentChange::SaveDatasource {
                datasource: ds.clone(),
                connections: None,
            }],
            &[],
        )
        .await
        .unwrap();
    let target = ContentRef::Datasource(ds.id);
    let job = Job {
        id: fresh(),
        site_id: site,
        target,
        target_name: ds.name.clone(),
        created_at: T0,
        started_at: Some(T0),
        completed_at: None,
        progress: 0,
        finish_code: None,
        notes: String::new(),
    };
    store
        .apply(&[ContentChange::SaveJob(job.clone())], &[])
        .await
        .unwrap();
    assert_eq!(
        store.unfinished_jobs(Some(target)).await.unwrap(),
        vec![job.clone()]
    );
    assert_eq!(store.unfinished_jobs(None).await.unwrap().len(), 1);
    let done = Job {
        completed_at: Some(T0 + Duration::seconds(2)),
        progress: 100,
        finish_code: Some(FINISH_FAILED),
        notes: "refused".to_owned(),
        ..job.clone()
    };
    store
        .apply(&[ContentChange::SaveJob(done.clone())], &[])
        .await
        .unwrap();
    assert!(
        store
            .unfinished_jobs(Some(target))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.job(site, job.id).await.unwrap(), Some(done.clone()));
    // A job ends once: finishing it again (another node recovering it) changes nothing.
    let again = Job {
        completed_at: Some(T0 + Duration::seconds(9)),
        notes: "interrupted".to_owned(),
        ..done.clone()
    };
    let err = store
        .apply(&[ContentChange::SaveJob(again)], &[])
        .await
        .unwrap_err();
    assert!(err.is_conflict_on(FINISHED_JOB), "{err:?}");
    assert_eq!(store.job(site, job.id).await.unwrap(), Some(done));

    for kind in [
        EventKind::SiteCreated,
        EventKind::SiteUpdated,
        EventKind::SiteDeleted,
        EventKind::AdminPromoted,
        EventKind::UserDeleted,
    ] {
        let hook = Webhook {
            event: kind,
            ..webhook(site, owner, &kind.to_string())
        };
        store.create_webhook(&hook).await.unwrap();
    }
    let other = super::fixtures::site("Other", "other");
    let created = store
        .create_site(
            &other,
            &project_for(&other),
            &[event(site, EventKind::SiteCreated)],
        )
        .await
        .unwrap();
    assert_eq!(created[0].deliveries, 1);
    let updated = store
        .update_site(&other, &[event(site, EventKind::SiteUpdated)])
        .await
        .unwrap();
    assert_eq!(updated[0].deliveries, 1);
    let deleted = store
        .delete_site(other.id, &[event(site, EventKind::SiteDeleted)])
        .await
        .unwrap();
    assert_eq!(deleted[0].deliveries, 1);
    let update = SiteUserUpdate {
        site_id: site,
        user_id: owner,
        site_role: None,
        full_name: Some("Admin".to_owned()),
        email: None,
        auth_setting: None,
        password_hash: None,
    };
    let (_, promoted) = store
        .update_user(&update, &[event(site, EventKind::AdminPromoted)])
        .await
        .unwrap();
    assert_eq!(promoted[0].deliveries, 1);
    let removed = store
        .remove_user(site, owner, &[event(site, EventKind::UserDeleted)])
        .await
        .unwrap();
    assert_eq!(removed[0].deliveries, 1);
}

/// What the API promises about names and refreshes, held by the store itself so that racing
/// requests cannot break it; each violation names its constraint.
pub async fn names_are_unique_and_one_job_runs_per_target(
    store: &(impl Identity + Sites + Content),
) {
    let (site, project, owner) = seeded(store).await;
    let other = Project {
        id: fresh(),
        site_id: site,
        name: "Finance".to_owned(),
        ..project_for(&super::fixtures::site("x", "x"))
    };
    store
        .apply(&[ContentChange::SaveProject(other.clone())], &[])
        .await
        .unwrap();
    let save = |change: ContentChange| async move { store.apply(&[change], &[]).await };
    // Content URLs of their own, so that only the names can conflict.
    let ds = |project, name| {
        let datasource = datasource(site, project, owner, name);
        ContentChange::SaveDatasource {
            datasource: Datasource {
                content_url: datasource.id.to_string(),
                ..datasource
            },
            connections: None,
        }
    };
    let wb = |project, name| {
        let workbook = workbook(site, project, owner, name);
        ContentChange::SaveWorkbook {
            workbook: Workbook {
                content_url: workbook.id.to_string(),
                ..workbook
            },
            views: None,
            connections: None,
        }
    };
    save(ds(project, "Sales")).await.unwrap();
    let err = save(ds(project, "SALES")).await.unwrap_err();
    assert!(err.is_conflict_on("datasources.name"), "{err:?}");
    save(ds(other.id, "Sales")).await.unwrap();
    save(wb(project, "Sales")).await.unwrap();
    let err = save(wb(project, "sales")).await.unwrap_err();
    assert!(err.is_conflict_on("workbooks.name"), "{err:?}");
    save(wb(other.id, "Sales")).await.unwrap();
    // A content URL is unique in its site, whatever the project.
    let same_url = |kind: &str, name: &str, url: &str| match kind {
        "datasource" => ContentChange::SaveDatasource {
            datasource: Datasource {
                content_url: url.to_owned(),
                ..datasource(site, other.id, owner, name)
            },
            connections: None,
        },
        _ => ContentChange::SaveWorkbook {
            workbook: Workbook {
                content_url: url.to_owned(),
                ..workbook(site, other.id, owner, name)
            },
            views: None,
            connections: None,
        },
    };
    for kind in ["datasource", "workbook"] {
        save(same_url(kind, "Url A", "shared")).await.unwrap();
        let err = save(same_url(kind, "Url B", "SHARED")).await.unwrap_err();
        assert!(
            err.is_conflict_on(&format!("{kind}s.content_url")),
            "{err:?}"
        );
    }

    let sibling = |name: &str, parent| {
        ContentChange::SaveProject(Project {
            id: fresh(),
            name: name.to_owned(),
            parent_id: parent,
            ..other.clone()
        })
    };
    let err = save(sibling("FINANCE", None)).await.unwrap_err();
    assert!(err.is_conflict_on("projects_sibling_name"), "{err:?}");
    save(sibling("Finance", Some(other.id))).await.unwrap();
    let err = save(sibling("finance", Some(other.id))).await.unwrap_err();
    assert!(err.is_conflict_on("projects_sibling_name"), "{err:?}");

    let taken = super::fixtures::site("Default", "elsewhere");
    let err = store
        .create_site(&taken, &project_for(&taken), &[])
        .await
        .unwrap_err();
    assert!(err.is_conflict_on("sites.name"), "{err:?}");

    let ds = datasource(site, project, owner, "Refreshed");
    store
        .apply(
            &[ContentChange::SaveDatasource {
                datasource: ds.clone(),
                connections: None,
            }],
            &[],
        )
        .await
        .unwrap();
    let job = |completed_at| Job {
        id: fresh(),
        site_id: site,
        target: ContentRef::Datasource(ds.id),
        target_name: ds.name.clone(),
        created_at: T0,
        started_at: Some(T0),
        completed_at,
        progress: 0,
        finish_code: None,
        notes: String::new(),
    };
    let running = job(None);
    save(ContentChange::SaveJob(running.clone())).await.unwrap();
    let err = save(ContentChange::SaveJob(job(None))).await.unwrap_err();
    assert!(err.is_conflict_on("jobs.target_id"), "{err:?}");
    save(ContentChange::SaveJob(Job {
        completed_at: Some(T0 + Duration::seconds(1)),
        finish_code: Some(FINISH_SUCCESS),
        ..running
    }))
    .await
    .unwrap();
    save(ContentChange::SaveJob(job(None))).await.unwrap();
}
