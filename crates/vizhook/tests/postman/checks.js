// Shared by every request of the derived collection (prepended to each test script by
// crates/vizhook/tests/postman.rs): read a Tableau answer in either format the same way.
// `XML` is set by the test for its folder.
const tableau = () => (XML ? xml2Json(pm.response.text()).tsResponse : pm.response.json());
const attrs = (node) => (XML ? (node && node.$) || {} : node || {});
const list = (node) => (node === undefined || node === null || node === "" ? [] : [].concat(node));
const webhooksOf = (answer) => list(answer.webhooks && answer.webhooks.webhook);
const destinationUrl = (webhook) =>
    attrs(webhook["webhook-destination"]["webhook-destination-http"]).url;
const contentType = () => pm.response.headers.get("Content-Type") || "";
pm.test("answers in the format asked for", () => {
    if (pm.response.code !== 204) {
        pm.expect(contentType()).to.include(XML ? "application/xml" : "application/json");
    }
});
