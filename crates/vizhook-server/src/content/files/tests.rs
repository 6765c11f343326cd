//! Reading published files: every kind, packaged or plain, hostile or broken.

use std::io::Write;

use zip::write::SimpleFileOptions;

use super::*;

const FEDERATED_TDS: &str = r#"<?xml version='1.0' encoding='utf-8' ?>

<!-- build 20241.24.0312.0830                               -->
<datasource formatted-name='federated.0a1b2c3' inline='true' source-platform='win' version='18.1' xmlns:user='http://www.tableausoftware.com/xml/user'>
  <document-format-change-manifest>
    <_.fcp.ObjectModelEncapsulateLegacy.true...ObjectModelEncapsulateLegacy />
    <_.fcp.ObjectModelTableType.true...ObjectModelTableType />
  </document-format-change-manifest>
  <connection class='federated'>
    <named-connections>
      <named-connection caption='db.example.com' name='postgres.1x2y3z'>
        <connection authentication='username-password' class='postgres' dbname='sales' odbc-native-protocol='' one-time-sql='' port='5432' server='db.example.com' sslmode='require' username='etl' />
      </named-connection>
      <named-connection caption='db.example.com (copy)' name='postgres.4u5v6w'>
        <connection class="postgres" dbname="sales" port="5432" server="db.example.com" username="etl"></connection>
      </named-connection>
    </named-connections>
    <_.fcp.ObjectModelEncapsulateLegacy.false...relation connection='postgres.1x2y3z' name='orders' table='[public].[orders]' type='table' />
    <metadata-records>
      <metadata-record class='column'>
        <remote-name>id</remote-name>
        <local-name>[id]</local-name>
        <attributes><attribute datatype='string' name='DebugRemoteType'>&quot;SQL_INTEGER&quot;</attribute></attributes>
      </metadata-record>
    </metadata-records>
  </connection>
  <aliases enabled='yes' />
  <column datatype='integer' name='[Number of Records]' role='measure' type='quantitative' user:auto-column='numrec'>
    <calculation class='tableau' formula='1' />
  </column>
  <layout dim-ordering='alphabetic' measure-ordering='alphabetic' show-structure='true' />
</datasource>
"#;

const WORKBOOK: &str = r#"<?xml version='1.0' encoding='utf-8' ?>
<!-- build 20241.24.0312.0830 -->
<workbook original-version='18.1' source-build='2024.1.0 (20241.24.0312.0830)' source-platform='win' version='18.1' xmlns:user='http://www.tableausoftware.com/xml/user'>
  <preferences><preference name='ui.encoding.shelf.height' value='24' /></preferences>
  <datasources>
    <datasource hasconnection='false' inline='true' name='Parameters' version='18.1'>
      <aliases enabled='yes' />
      <column caption='Top N' datatype='integer' name='[Parameter 1]' param-domain-type='range' role='measure' type='quantitative' value='10'>
        <calculation class='tableau' formula='10' />
      </column>
    </datasource>
    <datasource caption='orders (sales)' inline='true' name='federated.0a1b2c3' version='18.1'>
      <connection class='federated'>
        <named-connections>
          <named-connection caption='db.example.com' name='postgres.1'>
            <connection class='postgres' dbname='sales' port='5432' server='db.example.com' username='etl' />
          </named-connection>
          <named-connection caption='Budget' name='excel-direct.2'>
            <connection class='excel-direct' cleaning='no' filename='C:/Data/Budget.xlsx' interpretationMode='0' />
          </named-connection>
        </named-connections>
      </connection>
      <extract count='-1' enabled='true' units='records'>
        <connection class='hyper' dbname='Data/Extracts/orders.hyper' schema='Extract' tablename='Extract' />
      </extract>
    </datasource>
  </datasources>
  <worksheets>
    <worksheet name='Sales &amp; Profit'>
      <table>
        <view>
          <datasources>
            <datasource caption='orders (sales)' name='federated.0a1b2c3' />
          </datasources>
        </view>
      </table>
    </worksheet>
    <worksheet name="Customer&apos;s Map">
      <table><view><datasources /></view></table>
    </worksheet>
  </worksheets>
  <dashboards>
    <dashboard name='Overview'>
      <zones>
        <zone h='100000' id='3' name='Sales &amp; Profit' w='100000' x='0' y='0' />
      </zones>
    </dashboard>
  </dashboards>
  <windows source-height='30'>
    <window class='worksheet' name='Sales &amp; Profit' />
    <window class='dashboard' maximized='true' name='Overview' />
  </windows>
</workbook>
"#;

fn connection(
    class: &str,
    server: &str,
    port: &str,
    dbname: &str,
    username: &str,
) -> FileConnection {
    FileConnection {
        class: class.to_owned(),
        server: server.to_owned(),
        port: port.to_owned(),
        dbname: dbname.to_owned(),
        username: username.to_owned(),
    }
}

fn zipped(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, contents) in entries {
        if name.ends_with('/') {
            writer
                .add_directory(*name, SimpleFileOptions::default())
                .unwrap();
        } else {
            writer
                .start_file(*name, SimpleFileOptions::default())
                .unwrap();
            writer.write_all(contents).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

fn postgres() -> FileConnection {
    connection("postgres", "db.example.com", "5432", "sales", "etl")
}

#[test]
fn federated_tds_reports_the_inner_connections_once() {
    let contents = read(FileKind::Tds, FEDERATED_TDS.as_bytes()).unwrap();
    assert_eq!(contents.connections, vec![postgres()]);
    assert!(contents.views.is_empty());
}

#[test]
fn plain_tds_reports_its_connection() {
    let tds = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<datasource inline='true' version='18.1'>\
            <connection class='sqlserver' server='sql.local' port='1433' dbname='Warehouse' authentication='sspi'/>\
            </datasource>";
    let contents = read(FileKind::Tds, tds.as_bytes()).unwrap();
    assert_eq!(
        contents.connections,
        vec![connection(
            "sqlserver",
            "sql.local",
            "1433",
            "Warehouse",
            ""
        )]
    );
}

#[test]
fn twb_reports_connections_and_views() {
    let contents = read(FileKind::Twb, WORKBOOK.as_bytes()).unwrap();
    assert_eq!(
        contents.connections,
        vec![
            postgres(),
            connection("excel-direct", "", "", "", ""),
            connection("hyper", "", "", "Data/Extracts/orders.hyper", ""),
        ]
    );
    assert_eq!(
        contents.views,
        ["Sales & Profit", "Customer's Map", "Overview"]
    );
}

#[test]
fn tdsx_reads_the_tds_in_a_subfolder() {
    let archive = zipped(&[
        ("Data/", b""),
        ("Data/Extracts/orders.hyper", b"\x00binary hyper\xff"),
        (
            "__MACOSX/Data/._Sales.tds",
            b"\x00\x05\x16\x07 resource fork",
        ),
        ("Data/Sales.TDS", FEDERATED_TDS.as_bytes()),
    ]);
    let contents = read(FileKind::Tdsx, &archive).unwrap();
    assert_eq!(contents.connections, vec![postgres()]);
}

#[test]
fn twbx_reads_the_twb_in_a_subfolder() {
    let archive = zipped(&[
        ("Data/Budget.xlsx", b"PK not really"),
        ("Workbooks/Sales.twb", WORKBOOK.as_bytes()),
    ]);
    let contents = read(FileKind::Twbx, &archive).unwrap();
    assert_eq!(contents, read(FileKind::Twb, WORKBOOK.as_bytes()).unwrap());
    assert_eq!(contents.views.len(), 3);
}

#[test]
fn archive_without_the_document_is_an_error() {
    let archive = zipped(&[("Sales.twb", WORKBOOK.as_bytes()), ("Data/x.hyper", b"x")]);
    let error = read(FileKind::Tdsx, &archive).unwrap_err();
    assert!(
        matches!(error, FileError::NoDocumentInArchive { expected: ".tds" }),
        "{error:?}"
    );
    let empty = zipped(&[]);
    assert!(matches!(
        read(FileKind::Twbx, &empty),
        Err(FileError::NoDocumentInArchive { .. })
    ));
}

#[test]
fn oversized_document_in_archive_is_refused() {
    let archive = zipped(&[("Sales.tds", FEDERATED_TDS.as_bytes())]);
    let size = FEDERATED_TDS.len() as u64;
    let error = extract_document(Cursor::new(&archive[..]), ".tds", size - 1).unwrap_err();
    assert!(
        matches!(error, FileError::TooLarge { limit } if limit == size - 1),
        "{error:?}"
    );
    let document = extract_document(Cursor::new(&archive[..]), ".tds", size).unwrap();
    assert_eq!(document, FEDERATED_TDS.as_bytes());
}

#[test]
fn non_zip_packaged_file_is_an_error() {
    let error = read(FileKind::Tdsx, FEDERATED_TDS.as_bytes()).unwrap_err();
    assert!(matches!(error, FileError::BadArchive(_)), "{error:?}");
    assert!(matches!(
        read(FileKind::Twbx, b""),
        Err(FileError::BadArchive(_))
    ));
}

#[test]
fn entities_are_unescaped() {
    let tds = "<datasource><connection class='postgres' server='a&amp;b' dbname=\"q&quot;&#39;&#x41;\" username='&lt;me&gt;'/></datasource>";
    let contents = read(FileKind::Tds, tds.as_bytes()).unwrap();
    assert_eq!(
        contents.connections,
        vec![connection("postgres", "a&b", "", "q\"'A", "<me>")]
    );
}

#[test]
fn leading_bom_is_accepted() {
    let mut bytes = UTF8_BOM.to_vec();
    bytes.extend_from_slice(FEDERATED_TDS.as_bytes());
    assert_eq!(
        read(FileKind::Tds, &bytes).unwrap().connections,
        vec![postgres()]
    );
}

#[test]
fn doctype_is_refused() {
    let tds = "<?xml version='1.0'?>\n<!DOCTYPE datasource [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>\n\
            <datasource><connection class='postgres' server='&x;'/></datasource>";
    let error = read(FileKind::Tds, tds.as_bytes()).unwrap_err();
    assert!(matches!(error, FileError::DoctypeNotAllowed), "{error:?}");
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let inputs: [&[u8]; 12] = [
        b"",
        b"   \n",
        b"hello world",
        b"\x00\x01\x02\xff\xfe garbage",
        b"<datasource><connection class='postgres'",
        b"<datasource><connection class='postgres'></datasource>",
        b"<datasource>",
        b"<datasource/><datasource/>",
        b"<datasource/>trailing",
        b"<datasource><connection class='a' class='b'/></datasource>",
        b"<datasource><connection class='&unknown;'/></datasource>",
        b"\xEF\xBB\xBF",
    ];
    for input in inputs {
        for kind in [FileKind::Tds, FileKind::Twb, FileKind::Tdsx, FileKind::Twbx] {
            let result = read(kind, input);
            assert!(result.is_err(), "{kind:?} {input:?} gave {result:?}");
        }
    }
}

#[test]
fn wrong_root_is_an_error() {
    let error = read(FileKind::Tds, WORKBOOK.as_bytes()).unwrap_err();
    assert!(
        matches!(&error, FileError::UnexpectedRoot { expected: "datasource", found } if found == "workbook"),
        "{error:?}"
    );
}

#[test]
fn extract_has_no_contents() {
    for bytes in [&b""[..], b"\x00\x01hyper", FEDERATED_TDS.as_bytes()] {
        assert_eq!(
            read(FileKind::Extract, bytes).unwrap(),
            FileContents::default()
        );
    }
}

#[test]
fn data_source_views_are_empty_and_classless_connections_ignored() {
    let tds = "<datasource><worksheets><worksheet name='x'/></worksheets><connection server='s'/></datasource>";
    assert_eq!(
        read(FileKind::Tds, tds.as_bytes()).unwrap(),
        FileContents::default()
    );
}

#[test]
fn kinds_parse_from_names_and_extensions() {
    assert_eq!(FileKind::parse("tdsx"), Some(FileKind::Tdsx));
    assert_eq!(FileKind::parse(".TWB"), Some(FileKind::Twb));
    assert_eq!(FileKind::parse("Twbx"), Some(FileKind::Twbx));
    assert_eq!(FileKind::parse("tds"), Some(FileKind::Tds));
    for extract in ["hyper", "tde", ".parquet"] {
        assert_eq!(FileKind::parse(extract), Some(FileKind::Extract));
    }
    for unknown in ["", ".", "xlsx", "tds.x", "..tds"] {
        assert_eq!(FileKind::parse(unknown), None, "{unknown}");
    }
    assert_eq!(FileKind::from_file_name("Sales.tdsx"), Some(FileKind::Tdsx));
    assert_eq!(
        FileKind::from_file_name("Q1.report.TWB"),
        Some(FileKind::Twb)
    );
    assert_eq!(
        FileKind::from_file_name("orders.hyper"),
        Some(FileKind::Extract)
    );
    assert_eq!(FileKind::from_file_name("Sales"), None);
    assert_eq!(FileKind::from_file_name("Sales.csv"), None);
}
