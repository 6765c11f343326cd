//! The email action against an in-process SMTP server: default and custom subject and body,
//! a hostile name, a recovery, several recipients, and no `[smtp]`.

use expect_test::expect;

use super::{HOSTILE, SmtpSink, build, firing, mailer_for, resolved, runtime};
use crate::actions::ActionError;

/// The message without the headers that change on every send.
fn stable(message: &str) -> String {
    message
        .lines()
        .filter(|line| !line.starts_with("Date: ") && !line.starts_with("Message-ID: "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The decoded text of a quoted-printable or plain body (the part after the headers).
fn body_text(message: &str) -> String {
    let (headers, body) = message.split_once("\r\n\r\n").unwrap();
    if !headers.contains("Content-Transfer-Encoding: quoted-printable") {
        return body.replace("\r\n", "\n");
    }
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap().replace("\r\n", "\n")
}

#[tokio::test]
async fn default_email_with_a_hostile_name() {
    let smtp = SmtpSink::start();
    let actions = build(
        "[[receiver]]\nname = \"data-team\"\n[[receiver.action]]\ntype = \"email\"\nto = [\"steward@example.com\", \"Ops <ops@example.com>\"]\n",
        &[],
    );
    assert!(actions.needs_smtp());
    runtime(Some(mailer_for(&smtp)))
        .execute(&actions, "data-team/0", &firing(HOSTILE))
        .await
        .unwrap();
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one message to every recipient");
    assert_eq!(messages[0].to, ["steward@example.com", "ops@example.com"]);
    expect![[r#"
        From: vizhook <vizhook@example.com>
        To: steward@example.com, Ops <ops@example.com>
        Subject: [vizhook] DatasourceRefreshFailed: Sales "Q4"
         <script>alert(1)</script> line2 & =?utf-8?b?8J+agA==?= 'x'
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: quoted-printable

        DatasourceRefreshFailed for Sales "Q4" <script>alert(1)</script>
        line2 & =F0=9F=9A=80 'x'.

        Event:       DatasourceRefreshFailed
        Resource:    DATASOURCE Sales "Q4" <script>alert(1)</script>
        line2 & =F0=9F=9A=80 'x' (9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111)
        Site:        Finance (0b2c4d6e-1111-4222-8333-444455556666)
        Project:     Sales & Ops
        Owner:       Ana <ana@example.com>
        Created at:  2026-03-01T08:00:00Z
        Received at: 2026-03-01T08:00:02Z by receiver data-team

        --=20
        Sent by vizhook."#]]
    .assert_eq(&stable(&messages[0].data));
    expect![[r#"
        DatasourceRefreshFailed for Sales "Q4" <script>alert(1)</script>
        line2 & 🚀 'x'.

        Event:       DatasourceRefreshFailed
        Resource:    DATASOURCE Sales "Q4" <script>alert(1)</script>
        line2 & 🚀 'x' (9f8e7d6c-aaaa-4bbb-8ccc-dddd00001111)
        Site:        Finance (0b2c4d6e-1111-4222-8333-444455556666)
        Project:     Sales & Ops
        Owner:       Ana <ana@example.com>
        Created at:  2026-03-01T08:00:00Z
        Received at: 2026-03-01T08:00:02Z by receiver data-team

        -- 
        Sent by vizhook.
    "#]]
    .assert_eq(&body_text(&messages[0].data));
}

#[tokio::test]
async fn custom_email_for_a_recovery() {
    let smtp = SmtpSink::start();
    let actions = build(
        r#"[[receiver]]
name = "data-team"
[[receiver.action]]
type = "email"
to = ["steward@example.com"]
subject = "{{ receiver }}: {{ event.resource_name }} is {{ notice }}"
body = """
{% if notice == "resolved" %}Good news: {{ event.resource_name }} refreshed again.{% else %}Broken.{% endif %}
Site: {{ site_name or event.site_luid }}"""
"#,
        &[],
    );
    let runtime = runtime(Some(mailer_for(&smtp)));
    runtime
        .execute(&actions, "data-team/0", &resolved())
        .await
        .unwrap();
    let message = &smtp.messages()[0].data;
    assert!(
        message.contains("Subject: data-team: Sales is resolved\r\n"),
        "{message}"
    );
    expect![[r#"
        Good news: Sales refreshed again.
        Site: 0b2c4d6e-1111-4222-8333-444455556666
    "#]]
    .assert_eq(&body_text(message));

    // Without [smtp], an email action fails (and says why).
    let err = super::runtime(None)
        .execute(&actions, "data-team/0", &resolved())
        .await
        .unwrap_err();
    assert_eq!(err, ActionError::EmailNotConfigured);
}
