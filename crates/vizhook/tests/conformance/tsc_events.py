"""Fires content events through tableauserverclient, the way integrators do, including the
well-known tutorial: a data source refreshes, its connection is moved to an unreachable server,
the next refresh fails and the DatasourceRefreshFailed webhook fires.

Usage: tsc_events.py SERVER_URL PAT_NAME PAT_SECRET RECEIVER_URL FIXTURES_DIR GOOD_PORT BAD_PORT
Prints one JSON line with the ids the caller checks payloads against.
"""

import json
import os
import sys
import tempfile

import tableauserverclient as TSC

EVENTS = [
    "datasource-created", "datasource-updated", "datasource-deleted",
    "datasource-refresh-started", "datasource-refresh-succeeded", "datasource-refresh-failed",
    "workbook-created", "workbook-deleted",
]


def step(name):
    print(f"- {name}", file=sys.stderr, flush=True)


def fixture(fixtures, name, port, directory):
    with open(os.path.join(fixtures, name)) as source:
        text = source.read()
    for key, value in {"SERVER": "127.0.0.1", "PORT": str(port), "DBNAME": "test", "USER": "postgres"}.items():
        text = text.replace(f"'{key}'", f"'{value}'")
    path = os.path.join(directory, name)
    with open(path, "w") as target:
        target.write(text)
    return path


def main(server_url, pat_name, pat_secret, receiver, fixtures, good_port, bad_port):
    server = TSC.Server(server_url, use_server_version=True)
    with server.auth.sign_in(TSC.PersonalAccessTokenAuth(pat_name, pat_secret, site_id="")), tempfile.TemporaryDirectory() as tmp:
        step("webhooks for the content events")
        for event in EVENTS:
            hook = TSC.WebhookItem()
            hook.name = f"on {event}"
            hook.event = event
            hook.url = f"{receiver}/{event}"
            server.webhooks.create(hook)

        projects, _ = server.projects.get()
        default = next(p for p in projects if p.name == "Default")

        step("publish a data source whose connection reaches PostgreSQL")
        item = TSC.DatasourceItem(default.id, name="Orders")
        credentials = TSC.ConnectionCredentials("postgres", "pw", embed=True)
        datasource = server.datasources.publish(
            item, fixture(fixtures, "sales.tds", good_port, tmp), TSC.Server.PublishMode.CreateNew,
            connection_credentials=credentials,
        )
        assert datasource.id and datasource.name == "Orders", vars(datasource)
        assert datasource.project_id == default.id, datasource.project_id

        step("update the data source")
        datasource.certified = True
        datasource.certification_note = "checked"
        datasource = server.datasources.update(datasource)
        assert datasource.certified, vars(datasource)

        step("refresh succeeds")
        job = server.datasources.refresh(datasource)
        job = server.jobs.wait_for_job(job, timeout=60)
        assert job.finish_code == 0, vars(job)

        step("move the connection to a server that does not answer")
        server.datasources.populate_connections(datasource)
        connection = datasource.connections[0]
        assert connection.server_address == "127.0.0.1" and connection.server_port == str(good_port), vars(connection)
        connection.server_port = str(bad_port)
        connection.embed_password = True
        connection.password = "pw"
        connection.username = "postgres"
        updated = server.datasources.update_connection(datasource, connection)
        assert updated.server_port == str(bad_port), vars(updated)

        step("refresh fails, and says why")
        job = server.datasources.refresh(datasource)
        try:
            server.jobs.wait_for_job(job, timeout=60)
            raise AssertionError("the refresh against an unreachable server succeeded")
        except TSC.JobFailedException as failure:
            assert "could not connect" in str(failure.job.notes), failure.job.notes

        step("delete the data source")
        server.datasources.delete(datasource.id)

        step("publish and delete a workbook")
        workbook = TSC.WorkbookItem(default.id, name="Orders Overview", show_tabs=True)
        workbook = server.workbooks.publish(
            workbook, fixture(fixtures, "overview.twb", good_port, tmp), TSC.Server.PublishMode.CreateNew
        )
        server.workbooks.populate_views(workbook)
        assert [v.name for v in workbook.views] == ["Sales by Region", "Profit", "Overview"], workbook.views
        server.workbooks.delete(workbook.id)

        print(json.dumps({"site": server.site_id, "datasource": datasource.id, "workbook": workbook.id}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:8])
