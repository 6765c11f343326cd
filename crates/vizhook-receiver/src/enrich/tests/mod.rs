//! Enrichment against the static map and against a fake Tableau server (`fake.rs`) that
//! counts requests: sign-in, paging, caching, re-sign-in after a 401, fallbacks, and a server
//! that is down.

mod fake;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use serde_json::json;

use self::fake::{DATASOURCE, Fake, OTHER_SITE, OWNER, SITE, WORKBOOK};
use super::{
    config::{DEFAULT_API_VERSION, DEFAULT_CACHE_TTL},
    *,
};
use vizhook_runtime::outbound::OutboundConfig;

fn outbound() -> Outbound {
    Outbound::new(&vizhook_runtime::outbound::OutboundConfig::default(), true).unwrap()
}

fn event(resource: &str, event_type: &str, site: &str, luid: &str) -> InboundEvent {
    let body = json!({
        "resource": resource, "event_type": event_type, "resource_name": "Sales",
        "site_luid": site, "resource_luid": luid, "created_at": "2026-11-23T10:00:00Z",
    });
    InboundEvent::parse(body.to_string().as_bytes()).unwrap()
}

/// A fake Tableau server: a server administrator's view unless `admin` is false.
fn config(server: &str, secret: &str) -> EnrichConfig {
    EnrichConfig {
        sites: BTreeMap::new(),
        tableau: Some(TableauConfig {
            server: server.to_owned(),
            site: String::new(),
            pat_name: "vizhook".to_owned(),
            pat_secret: secret.to_owned(),
            api_version: DEFAULT_API_VERSION.to_owned(),
            cache_ttl: DEFAULT_CACHE_TTL,
        }),
    }
}

fn enricher(config: &EnrichConfig) -> Enricher {
    Enricher::build(config, Path::new("."), outbound()).unwrap()
}

fn enrichment(site: Option<&str>, project: Option<&str>, owner: Option<&str>) -> Enrichment {
    Enrichment {
        site_name: site.map(str::to_owned),
        project_name: project.map(str::to_owned),
        owner_name: owner.map(str::to_owned),
    }
}

#[tokio::test]
async fn static_map() {
    let config = EnrichConfig {
        sites: BTreeMap::from([(SITE.to_uppercase(), "Finance".to_owned())]),
        tableau: None,
    };
    let enricher = enricher(&config);
    let found = enricher
        .lookup(&event("DATASOURCE", "DatasourceUpdated", SITE, DATASOURCE))
        .await;
    assert_eq!(found, enrichment(Some("Finance"), None, None));
    let unknown = enricher
        .lookup(&event("DATASOURCE", "X", OTHER_SITE, "1"))
        .await;
    assert_eq!(unknown, Enrichment::default());
}

#[tokio::test]
async fn signs_in_looks_up_and_caches() {
    let fake = Fake::new(true);
    let enricher = enricher(&config(&fake.serve().await, "s3cret"));
    let failed = event("EXTRACTS", "DatasourceRefreshFailed", SITE, DATASOURCE);
    let expected = enrichment(Some("Finance"), Some("Sales Project"), Some("Jane Doe"));
    assert_eq!(enricher.lookup(&failed).await, expected);
    assert_eq!(
        fake.requests(),
        [
            "POST /api/3.19/auth/signin",
            "GET /api/3.19/sites",
            &format!("GET /api/3.19/sites/{SITE}/datasources/{DATASOURCE}"),
            &format!("GET /api/3.19/sites/{SITE}/users/{OWNER}"),
        ]
    );
    {
        let state = fake.state.lock().unwrap();
        assert_eq!(
            state.sign_ins[0],
            json!({"credentials": {"personalAccessTokenName": "vizhook",
                "personalAccessTokenSecret": "s3cret", "site": {"contentUrl": ""}}})
        );
        assert_eq!(state.without_json_accept, 0, "every request asks for JSON");
    }
    let clone = enricher.clone();
    assert_eq!(
        clone.lookup(&failed).await,
        expected,
        "a clone shares the cache"
    );
    let other_site = clone
        .lookup(&event("WORKBOOK", "WorkbookCreated", OTHER_SITE, "1"))
        .await;
    assert_eq!(other_site, enrichment(Some("Sandbox"), None, None));
    assert_eq!(fake.requests().len(), 4, "all answered from the cache");

    let workbook = enricher
        .lookup(&event("workbook", "WorkbookUpdated", SITE, WORKBOOK))
        .await;
    assert_eq!(
        workbook,
        enrichment(Some("Finance"), Some("Dashboards"), Some("Jane Doe"))
    );
    assert_eq!(
        fake.count("GET /api/3.19/sites/"),
        3,
        "the owner came from the cache"
    );
    let deleted = enricher
        .lookup(&event("WORKBOOK", "WorkbookDeleted", SITE, "2"))
        .await;
    assert_eq!(deleted, enrichment(Some("Finance"), None, None));
    let missing = enricher
        .lookup(&event("DATASOURCE", "DatasourceUpdated", SITE, "3"))
        .await;
    assert_eq!(missing, enrichment(Some("Finance"), None, None));
    enricher
        .lookup(&event("DATASOURCE", "DatasourceUpdated", SITE, "3"))
        .await;
    assert_eq!(
        fake.count("GET /api/3.19/sites/"),
        4,
        "a deleted one is not asked; 404 cached"
    );
    assert_eq!(fake.count("POST"), 1, "one sign-in");
}

#[tokio::test]
async fn pages_through_sites_and_falls_back_when_a_page_is_cut() {
    let mut sites: Vec<(String, String)> = (0..1500)
        // Real sites have many attributes; long names stand in for them.
        .map(|n| (format!("site-{n}"), format!("Site {n}{}", ".".repeat(100))))
        .collect();
    sites.push((SITE.to_owned(), "Finance".to_owned()));
    let fake = Arc::new(Fake {
        admin: true,
        sites,
        state: Mutex::default(),
    });
    let server = fake.serve().await;
    let roomy = Outbound::new(
        &OutboundConfig {
            max_response_bytes: 1 << 20,
            ..vizhook_runtime::outbound::OutboundConfig::default()
        },
        true,
    )
    .unwrap();
    let paged = Enricher::build(&config(&server, "s3cret"), Path::new("."), roomy).unwrap();
    let found = paged.lookup(&event("USER", "UserDeleted", SITE, "1")).await;
    assert_eq!(found.site_name.as_deref(), Some("Finance"));
    let early = paged
        .lookup(&event("USER", "UserDeleted", "site-7", "1"))
        .await;
    assert!(
        early
            .site_name
            .is_some_and(|name| name.starts_with("Site 7."))
    );
    assert_eq!(
        fake.count("GET /api/3.19/sites"),
        2,
        "two pages, then the cache"
    );

    // With the default 64 KiB response cap, a page of 1000 sites is cut: ask for the site.
    let capped = enricher(&config(&server, "s3cret"));
    let found = capped
        .lookup(&event("USER", "UserDeleted", SITE, "1"))
        .await;
    assert_eq!(found.site_name.as_deref(), Some("Finance"));
    assert_eq!(
        fake.requests()[3..],
        [
            "POST /api/3.19/auth/signin".to_owned(),
            "GET /api/3.19/sites".to_owned(),
            format!("GET /api/3.19/sites/{SITE}"),
        ]
    );
}

#[tokio::test]
async fn falls_back_to_the_signed_in_site_when_listing_is_forbidden() {
    let fake = Fake::new(false);
    let enricher = enricher(&config(&fake.serve().await, "s3cret"));
    let found = enricher
        .lookup(&event("USER", "UserCreated", SITE, "1"))
        .await;
    assert_eq!(found.site_name.as_deref(), Some("Finance"));
    let other = enricher
        .lookup(&event("USER", "UserCreated", OTHER_SITE, "1"))
        .await;
    assert_eq!(other.site_name, None);
    assert_eq!(
        fake.requests()[1..],
        [
            "GET /api/3.19/sites".to_owned(),
            format!("GET /api/3.19/sites/{SITE}"),
            format!("GET /api/3.19/sites/{OTHER_SITE}"),
        ],
        "the listing is not tried again"
    );
}

#[tokio::test]
async fn signs_in_again_after_a_401() {
    let fake = Fake::new(true);
    let enricher = enricher(&config(&fake.serve().await, "s3cret"));
    enricher
        .lookup(&event("USER", "UserCreated", SITE, "1"))
        .await;
    fake.state.lock().unwrap().token = Some("expired-elsewhere".to_owned());
    let found = enricher
        .lookup(&event("DATASOURCE", "DatasourceUpdated", SITE, DATASOURCE))
        .await;
    assert_eq!(
        found,
        enrichment(Some("Finance"), Some("Sales Project"), Some("Jane Doe"))
    );
    assert_eq!(fake.count("POST /api/3.19/auth/signin"), 2);
}

#[tokio::test]
async fn refused_sign_in_and_a_dead_server_give_what_is_known() {
    let fake = Fake::new(true);
    let mut refused = config(&fake.serve().await, "wrong");
    refused.sites.insert(SITE.to_owned(), "Finance".to_owned());
    let refused = enricher(&refused);
    let failed = event("EXTRACTS", "DatasourceRefreshFailed", SITE, DATASOURCE);
    assert_eq!(
        refused.lookup(&failed).await,
        enrichment(Some("Finance"), None, None)
    );
    refused
        .lookup(&event("DATASOURCE", "DatasourceUpdated", SITE, "9"))
        .await;
    refused
        .lookup(&event("USER", "UserCreated", OTHER_SITE, "1"))
        .await;
    assert_eq!(
        fake.requests().len(),
        1,
        "no sign-in again for a minute: {:?}",
        fake.requests()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let down = enricher(&config(&format!("http://{address}"), "s3cret"));
    assert_eq!(down.lookup(&failed).await, Enrichment::default());
}

#[tokio::test]
async fn a_hung_server_does_not_hold_the_request_path() {
    // Accepts connections (the kernel's backlog) but never answers.
    let hung = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut with_map = config(&format!("http://{}", hung.local_addr().unwrap()), "s3cret");
    with_map.sites.insert(SITE.to_owned(), "Finance".to_owned());
    let slow = enricher(&with_map);
    let failed = event("EXTRACTS", "DatasourceRefreshFailed", SITE, DATASOURCE);
    let started = std::time::Instant::now();
    let found = slow
        .lookup_within(
            &failed,
            std::time::Duration::from_millis(200),
            &tokio_util::task::TaskTracker::new(),
        )
        .await;
    assert_eq!(found, enrichment(Some("Finance"), None, None));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn configuration_problems_have_paths() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pat"), "s3cret\n").unwrap();
    let mut good = config("https://tableau.example.com/", "file:pat");
    assert!(Enricher::build(&good, dir.path(), outbound()).is_ok());
    let tableau = good.tableau.as_mut().unwrap();
    assert!(
        !format!("{tableau:?}").contains("file:pat"),
        "Debug redacts the secret"
    );
    *tableau = TableauConfig {
        server: "ftp://tableau".to_owned(),
        pat_name: " ".to_owned(),
        pat_secret: "file:missing".to_owned(),
        api_version: "latest".to_owned(),
        ..tableau.clone()
    };
    let problems = Enricher::build(&good, dir.path(), outbound()).unwrap_err();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "enrich.tableau.server",
            "enrich.tableau.api_version",
            "enrich.tableau.pat_name",
            "enrich.tableau.pat_secret",
        ]
    );
    let parsed: EnrichConfig = toml::from_str(
        "sites = { \"a1\" = \"Finance\" }\n[tableau]\nserver = \"https://t\"\npat_name = \"v\"\npat_secret = \"env:X\"",
    )
    .unwrap();
    let tableau = parsed.tableau.unwrap();
    assert_eq!(
        (tableau.api_version.as_str(), tableau.cache_ttl),
        ("3.19", DEFAULT_CACHE_TTL)
    );
    let unknown =
        "[tableau]\nserver = \"https://t\"\npat_name = \"v\"\npat_secret = \"x\"\nbogus = 1";
    assert!(
        toml::from_str::<EnrichConfig>(unknown).is_err(),
        "unknown keys are refused"
    );
}
