// Drives the dashboard in Debian's headless Chromium over CDP (playwright-core, no bundled
// browser), as an administrator would, and fails on the first thing that is not as it should
// be. Run by crates/vizhook/tests/browser.rs, which sets the scene first (a webhook disabled
// after four failed deliveries) and checks the server's state afterwards.
//
// usage: node dashboard.mjs <playwright-core dir> <base url> <user> <password> <webhook id> <screenshot dir>
import { createRequire } from "node:module";
import assert from "node:assert/strict";

const [playwrightDir, base, user, password, webhookId, shots] = process.argv.slice(2);
const require = createRequire(playwrightDir + "/");
const { chromium } = require("playwright-core");

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const step = (name) => console.error(`step: ${name}`);
try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });

    step("sign in");
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/dashboard\/signin$/, "an anonymous visit leads to the sign-in page");
    await page.fill("input[name=username]", user);
    await page.fill("input[name=password]", "not-the-password");
    await page.click("button[type=submit]");
    assert.match(await page.textContent(".error"), /user name or password is wrong/);
    await page.fill("input[name=password]", password);
    await page.click("button[type=submit]");
    await page.waitForURL(`${base}/dashboard`);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "vizhook_session");
    assert.ok(session, "a session cookie");
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, "Strict");
    await page.screenshot({ path: `${shots}/webhooks.png`, fullPage: true });

    step("the disabled webhook, with its reason and failures");
    const row = page.locator(`tr[data-webhook="${webhookId}"]`);
    assert.match(await row.textContent(), /disabled/);
    const reason = (await row.locator(".reason").textContent()).trim();
    assert.ok(reason.length > 0, "the reason it was disabled");
    assert.equal((await row.locator("td.num").textContent()).trim(), "4", "four failed deliveries in a row");

    step("its attempts");
    await row.locator("a").first().click();
    await page.waitForURL(`${base}/dashboard/webhooks/${webhookId}`);
    const deliveries = page.locator("tr.delivery");
    assert.equal(await deliveries.count(), 4, "four deliveries");
    for (let i = 0; i < 4; i++) {
        const attempts = deliveries.nth(i).locator("ol.attempts li");
        assert.equal(await attempts.count(), 4, "each tried four times");
        assert.match(await attempts.first().textContent(), /HTTP 500/);
    }
    assert.equal(await page.locator("svg.chart").count(), 3, "three charts");
    assert.ok((await page.locator("svg.chart rect").count()) > 0, "the volume chart has bars");
    await page.screenshot({ path: `${shots}/webhook-disabled.png`, fullPage: true });

    step("a form without its CSRF token is refused");
    const enable = page.locator(`form[action="/dashboard/webhooks/${webhookId}/enable"]`).first();
    await enable.evaluate((form) => form.querySelector("input[name=csrf]").remove());
    await enable.locator("button").click();
    await page.waitForLoadState();
    assert.match(await page.textContent("h1"), /Form expired/);
    assert.match(await page.textContent(".error"), /CSRF token is missing or wrong/);
    await page.screenshot({ path: `${shots}/csrf-refused.png`, fullPage: true });
    await page.goto(`${base}/dashboard/webhooks/${webhookId}`);
    assert.match(await page.textContent("dl.facts"), /disabled/, "still disabled");

    step("re-enable it");
    await page.locator(`form[action="/dashboard/webhooks/${webhookId}/enable"] button`).first().click();
    await page.waitForURL(/notice=/);
    assert.match(await page.textContent(".notice"), /Enabled/);
    assert.match(await page.textContent("dl.facts"), /enabled/);

    step("redeliver one delivery");
    await page.locator("tr.delivery a").first().click();
    await page.waitForURL(/\/dashboard\/deliveries\//);
    const deliveryId = page.url().split("/").pop();
    assert.equal(await page.locator("tr.attempt").count(), 4);
    await page.click(`form[action="/dashboard/deliveries/${deliveryId}/redeliver"] button`);
    await page.waitForURL(/notice=/);
    assert.match(await page.textContent(".notice"), /Scheduled again/);
    await page.screenshot({ path: `${shots}/delivery.png`, fullPage: true });

    step("the log's filters");
    await page.goto(`${base}/dashboard/deliveries?state=failed`);
    const failed = await page.locator("tr.delivery").count();
    assert.ok(failed >= 3 && failed <= 4, `failed deliveries listed: ${failed}`);
    await page.goto(`${base}/dashboard/deliveries?event=WorkbookCreated`);
    assert.equal(await page.locator("tr.delivery").count(), 0, "no deliveries of another event");
    await page.screenshot({ path: `${shots}/deliveries.png`, fullPage: true });

    step("on a phone");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/dashboard`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page fits a phone's width (overflow ${overflow}px)`);
    await page.screenshot({ path: `${shots}/phone.png`, fullPage: true });

    step("sign out");
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.click("form[action='/dashboard/signout'] button");
    await page.waitForURL(`${base}/dashboard/signin`);
    await page.goto(`${base}/dashboard`);
    assert.match(page.url(), /signin$/, "signed out");

    console.log(JSON.stringify({ redelivered: deliveryId }));
} finally {
    await browser.close();
}
