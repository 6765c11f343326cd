//! Wire shapes of site content: projects, data sources, workbooks, views, connections, jobs and
//! labels, as Tableau writes them and as tableauserverclient reads them.

use vizhook_core::ProjectId;
use vizhook_store::{Connection, ContentRef, Datasource, Job, Label, Project, View, Workbook};

use super::timestamp;
use crate::api::{error::ApiError, format::Element};

pub fn project_element(project: &Project) -> Element {
    Element::new("project")
        .child(Element::new("owner").attr("id", project.owner_id.to_string()))
        .attr("id", project.id.to_string())
        .attr("name", &project.name)
        .attr("description", &project.description)
        .opt_attr(
            "parentProjectId",
            project.parent_id.map(|id| id.to_string()),
        )
        .attr("contentPermissions", "ManagedByOwner")
        .attr("createdAt", timestamp(project.created_at))
        .attr("updatedAt", timestamp(project.updated_at))
}

fn project_ref(project: &Project) -> Element {
    Element::new("project")
        .attr("id", project.id.to_string())
        .attr("name", &project.name)
}

pub fn datasource_element(datasource: &Datasource, project: &Project) -> Element {
    Element::new("datasource")
        .child(project_ref(project))
        .child(Element::new("owner").attr("id", datasource.owner_id.to_string()))
        .child(Element::list("tags", []))
        .attr("id", datasource.id.to_string())
        .attr("name", &datasource.name)
        .attr("contentUrl", &datasource.content_url)
        .attr("type", &datasource.file_type)
        .attr("description", &datasource.description)
        .bool_attr("isCertified", datasource.is_certified)
        .attr("certificationNote", &datasource.certification_note)
        .bool_attr("hasExtracts", datasource.has_extracts)
        .attr("size", datasource.size.to_string())
        .attr("createdAt", timestamp(datasource.created_at))
        .attr("updatedAt", timestamp(datasource.updated_at))
}

fn view_ref(view: &View) -> Element {
    Element::new("view")
        .attr("id", view.id.to_string())
        .attr("name", &view.name)
        .attr("contentUrl", &view.content_url)
}

pub fn workbook_element(workbook: &Workbook, project: &Project, views: &[View]) -> Element {
    Element::new("workbook")
        .child(project_ref(project))
        .child(Element::new("owner").attr("id", workbook.owner_id.to_string()))
        .child(Element::list("tags", []))
        .child(Element::list("views", views.iter().map(view_ref)))
        .attr("id", workbook.id.to_string())
        .attr("name", &workbook.name)
        .attr("contentUrl", &workbook.content_url)
        .attr("description", &workbook.description)
        .bool_attr("showTabs", workbook.show_tabs)
        .attr("size", workbook.size.to_string())
        .attr("createdAt", timestamp(workbook.created_at))
        .attr("updatedAt", timestamp(workbook.updated_at))
}

pub fn view_element(view: &View, workbook: &Workbook) -> Element {
    Element::new("view")
        .child(Element::new("workbook").attr("id", workbook.id.to_string()))
        .child(Element::new("owner").attr("id", workbook.owner_id.to_string()))
        .child(Element::new("project").attr("id", workbook.project_id.to_string()))
        .child(Element::list("tags", []))
        .attr("id", view.id.to_string())
        .attr("name", &view.name)
        .attr("contentUrl", &view.content_url)
        .attr("createdAt", timestamp(view.created_at))
        .attr("updatedAt", timestamp(view.created_at))
}

/// A connection; never with its password.
pub fn connection_element(connection: &Connection, owner_name: &str) -> Element {
    let owner = match connection.owner {
        ContentRef::Datasource(id) => Element::new("datasource")
            .attr("id", id.to_string())
            .attr("name", owner_name),
        ContentRef::Workbook(id) => Element::new("workbook")
            .attr("id", id.to_string())
            .attr("name", owner_name),
    };
    Element::new("connection")
        .child(owner)
        .attr("id", connection.id.to_string())
        .attr("type", &connection.class)
        .bool_attr("embedPassword", connection.embed_password)
        .attr("serverAddress", &connection.server)
        .attr("serverPort", &connection.port)
        .attr("userName", &connection.username)
        .attr("dbName", &connection.dbname)
}

pub fn job_element(job: &Job) -> Element {
    let target = match job.target {
        ContentRef::Datasource(id) => Element::new("datasource")
            .attr("id", id.to_string())
            .attr("name", &job.target_name),
        ContentRef::Workbook(id) => Element::new("workbook")
            .attr("id", id.to_string())
            .attr("name", &job.target_name),
    };
    let mut element = Element::new("job").child(Element::new("extractRefreshJob").child(target));
    if !job.notes.is_empty() {
        element = element.child(Element::new("notes").text(&job.notes));
    }
    element
        .attr("id", job.id.to_string())
        .attr("mode", "Asynchronous")
        .attr("type", "RefreshExtract")
        .attr("progress", job.progress.to_string())
        .attr("createdAt", timestamp(job.created_at))
        .opt_attr("startedAt", job.started_at.map(timestamp))
        .opt_attr("completedAt", job.completed_at.map(timestamp))
        .opt_attr("finishCode", job.finish_code.map(|code| code.to_string()))
}

pub fn label_element(label: &Label) -> Element {
    Element::new("label")
        .child(
            Element::new("content")
                .attr("contentType", label.target.kind())
                .attr("id", label.target.id_string()),
        )
        .child(Element::new("author").attr("id", label.author_id.to_string()))
        .attr("id", label.id.to_string())
        .attr("value", &label.value)
        .attr("category", &label.category)
        .attr("message", &label.message)
        .bool_attr("active", label.active)
        .bool_attr("elevated", label.elevated)
        .attr("createdAt", timestamp(label.created_at))
        .attr("updatedAt", timestamp(label.updated_at))
}

/// The `<project id="..."/>` child of a content request, if any.
pub fn project_id(element: &Element) -> Result<Option<ProjectId>, ApiError> {
    match element
        .find("project")
        .and_then(|project| project.get("id"))
    {
        None | Some("") => Ok(None),
        Some(raw) => raw.parse().map(Some).map_err(|_| {
            ApiError::project_not_found(format!("Project '{raw}' could not be found."))
        }),
    }
}

/// The `<contentList><content contentType= id=/></contentList>` of a label request.
pub fn content_list(request: &Element) -> Result<Vec<ContentRef>, ApiError> {
    let list = request
        .find("contentList")
        .ok_or_else(|| ApiError::bad_request("The request needs a contentList element."))?;
    let mut targets = Vec::new();
    for content in list.children.iter().filter(|c| c.name == "content") {
        let id = content.get("id").unwrap_or_default();
        let bad_id = || ApiError::bad_request(format!("'{id}' is not a valid content id."));
        let target = match content
            .get("contentType")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("datasource") => ContentRef::Datasource(id.parse().map_err(|_| bad_id())?),
            Some("workbook") => ContentRef::Workbook(id.parse().map_err(|_| bad_id())?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "Labels on content type '{}' are not supported; use datasource or workbook.",
                    other.unwrap_or_default()
                )));
            }
        };
        // Content named twice counts once.
        if !targets.contains(&target) {
            targets.push(target);
        }
    }
    if targets.is_empty() {
        return Err(ApiError::bad_request("The contentList names no content."));
    }
    Ok(targets)
}
