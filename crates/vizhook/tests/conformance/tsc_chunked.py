"""Publishes a data source and a workbook too large for one request through tableauserverclient,
unchanged: it starts an upload session (POST fileUploads), appends the file in chunks (PUT
fileUploads/{id}) and publishes with uploadSessionId. The data source goes over a lowered
TSC_FILESIZE_LIMIT_MB in 1 MB chunks; the workbook is over TSC's fixed 64 MB limit.

Usage: tsc_chunked.py SERVER_URL PAT_NAME PAT_SECRET FIXTURES_DIR
"""

import logging
import os
import sys
import tempfile
import zipfile

import tableauserverclient as TSC

MB = 1024 * 1024


def step(name):
    print(f"- {name}", file=sys.stderr, flush=True)


def packaged(directory, name, document_name, fixture, data_name, data_bytes):
    """A .tdsx or .twbx: the fixture document (connections to 127.0.0.1:5432) and a stored,
    incompressible data file of data_bytes, so the archive is at least that large."""
    with open(fixture) as source:
        text = source.read()
    for key, value in {"SERVER": "127.0.0.1", "PORT": "5432", "DBNAME": "test", "USER": "postgres"}.items():
        text = text.replace(f"'{key}'", f"'{value}'")
    path = os.path.join(directory, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(document_name, text)
        with archive.open(data_name, "w", force_zip64=True) as data:
            for _ in range(data_bytes // MB):
                data.write(os.urandom(MB))
    return path


class Chunks(logging.Handler):
    """Counts TSC's log lines for appended chunks and chunked publishes."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.appended = 0
        self.chunked = []

    def emit(self, record):
        message = record.getMessage()
        if message.startswith("Uploading a chunk to session"):
            self.appended += 1
        if "chunking method" in message:
            self.chunked.append(message)


def main(server_url, pat_name, pat_secret, fixtures):
    chunks = Chunks()
    tsc_logger = logging.getLogger("TSC")
    tsc_logger.setLevel(logging.INFO)
    tsc_logger.addHandler(chunks)
    server = TSC.Server(server_url, use_server_version=True)
    with server.auth.sign_in(TSC.PersonalAccessTokenAuth(pat_name, pat_secret, site_id="")), tempfile.TemporaryDirectory() as tmp:
        projects, _ = server.projects.get()
        default = next(p for p in projects if p.name == "Default")

        step("publish a 3 MB data source in 1 MB chunks")
        os.environ["TSC_FILESIZE_LIMIT_MB"] = "1"
        os.environ["TSC_CHUNK_SIZE_MB"] = "1"
        tdsx = packaged(tmp, "Orders.tdsx", "Orders.tds", os.path.join(fixtures, "sales.tds"),
                        "Data/Extracts/orders.hyper", 3 * MB)
        assert os.path.getsize(tdsx) > 3 * MB
        item = TSC.DatasourceItem(default.id, name="Orders")
        datasource = server.datasources.publish(item, tdsx, TSC.Server.PublishMode.CreateNew)
        assert len(chunks.chunked) == 1, chunks.chunked
        assert chunks.appended == 4, f"{chunks.appended} chunks appended, expected 4"
        assert datasource.id and datasource.name == "Orders", vars(datasource)
        assert datasource.datasource_type is not None, vars(datasource)
        assert datasource.has_extracts, "the archive carries a .hyper"
        server.datasources.populate_connections(datasource)
        addresses = {(c.server_address, c.server_port) for c in datasource.connections}
        assert ("127.0.0.1", "5432") in addresses, addresses

        step("overwrite it the same way")
        again = server.datasources.publish(item, tdsx, TSC.Server.PublishMode.Overwrite)
        assert again.id == datasource.id, (again.id, datasource.id)

        step("publish a workbook over 64 MB, in 8 MB chunks")
        os.environ["TSC_CHUNK_SIZE_MB"] = "8"
        before = chunks.appended
        twbx = packaged(tmp, "Overview.twbx", "Overview.twb", os.path.join(fixtures, "overview.twb"),
                        "Data/overview.hyper", 65 * MB)
        assert os.path.getsize(twbx) >= 64 * MB
        workbook = TSC.WorkbookItem(default.id, name="Orders Overview", show_tabs=True)
        workbook = server.workbooks.publish(workbook, twbx, TSC.Server.PublishMode.CreateNew)
        assert len(chunks.chunked) == 3, chunks.chunked
        expected = -(-os.path.getsize(twbx) // (8 * MB))
        assert chunks.appended - before == expected, (chunks.appended - before, expected)
        server.workbooks.populate_views(workbook)
        assert [v.name for v in workbook.views] == ["Sales by Region", "Profit", "Overview"], workbook.views
        server.workbooks.populate_connections(workbook)
        assert {c.server_address for c in workbook.connections} == {"127.0.0.1"}, workbook.connections
        print("ok", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
