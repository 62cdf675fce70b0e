// Drives one headless Chromium page for tests/web/browser.py: one JSON command per stdin line, one JSON answer
// per stdout line. playwright-core (npm, scripts/setup.sh) with Debian's Chromium; no browser download.
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.KILN_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
// The local stack's TLS comes from devhost's own CA, which this browser does not know.
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
page.on("console", (m) => { if (m.type() === "error") problems.push(`console: ${m.text()}`); });

const ops = {
  goto: ({ url }) => page.goto(url).then((r) => (r ? r.status() : null)),
  wait: ({ selector, timeout = 30000, state = "visible" }) => page.waitForSelector(selector, { timeout, state }).then(() => true),
  click: ({ selector }) => page.click(selector).then(() => true),
  eval: ({ js }) => page.evaluate(js),
  url: () => page.url(),
  screenshot: ({ path, fullPage = true }) => page.screenshot({ path, fullPage }).then(() => path),
  problems: () => problems,
  // Answer requests matching `glob` with `body` (an API this kiln does not have yet), or stop doing so.
  answer: ({ glob, status = 200, body }) =>
    page.route(glob, (route) => route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) })).then(() => true),
  unanswer: ({ glob }) => page.unroute(glob).then(() => true),
};

const send = (answer) => process.stdout.write(JSON.stringify(answer) + "\n");
send({ ready: true, version: browser.version() });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const { id, op, ...args } = JSON.parse(line);
  try {
    send({ id, value: await ops[op](args) });
  } catch (error) {
    send({ id, error: String(error && error.message ? error.message : error) });
  }
}
await browser.close();
