// One way to run a spec in the system Chromium (Debian's /usr/bin/chromium,
// or $CHROMIUM) through playwright-core, shared by the desk and wall specs:
// a fresh profile, the flags this machine needs (no background networking,
// no sandbox as root), browser console and page errors on stdout, the
// page's text on failure, and the exit code the Rust test asserts.
import { chromium } from "playwright-core";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/// Runs `run(page)`; prints `<tag>: FAILED: …` and exits 1 when it throws.
export async function runInChromium(tag, run) {
  const userDataDir = await mkdtemp(join(tmpdir(), `softacd-${tag}-chromium-`));
  let context;
  let page;
  let code = 0;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: FLAGS,
    });
    page = context.pages()[0] || (await context.newPage());
    page.on("console", (m) => console.log("browser console: " + m.text()));
    page.on("pageerror", (e) => console.log("browser page error: " + e.message));
    await run(page);
  } catch (e) {
    code = 1;
    console.log(`${tag}: FAILED: ` + (e && e.stack ? e.stack : e));
    if (page) {
      const body = await page.locator("body").innerText().catch(() => "(no page text)");
      console.log(`${tag}: page text at failure:\n` + body);
    }
  } finally {
    if (context) {
      await context.close().catch(() => {});
    }
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
  process.exit(code);
}
