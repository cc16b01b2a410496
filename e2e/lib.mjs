// Shared pieces of the browser tests: a server of our own on a fresh
// database, Debian's Chromium through playwright-core, screenshots, and a
// check that no page logged an error.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";

export const CAPTCHA = "2468";
/** The browser tests' clock: in the 2025 inspection window, whatever today is. */
export const NOW = "2026-06-15T10:00:00+08:00";
export const PASSWORD = "Cmis2026";
export const WIDTHS = [390, 1366];
const root = path.resolve(import.meta.dirname, "..");
const bin = process.env.CMIS_BIN || path.join(root, "target/debug/cmis");
/** Screenshots and rendered files go outside the source tree. */
export const shots = process.env.CMIS_SHOTS || path.join(os.tmpdir(), "cmis-screenshots");
mkdirSync(shots, { recursive: true });

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

/** Starts `cmis serve` on loopback with demo data; the captcha answer is fixed. */
export async function startServer({ members = 40, firms = 4 } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cmis-e2e-"));
  const port = await freePort();
  const env = {
    ...process.env,
    CMIS_CONFIG: path.join(dir, "absent.toml"),
    CMIS_LISTEN: `127.0.0.1:${port}`,
    CMIS_DATABASE_URL: `sqlite://${dir}/cmis.sqlite3?mode=rwc`,
    CMIS_DATA_DIR: dir,
    CMIS_DEV_OUTBOX: "true",
    CMIS_PAYMENT__PROVIDER: "dev",
    CMIS_PAYMENT__SECRET: "e2e-payment-secret-0123",
    CMIS_FACE__PROVIDER: "dev",
    CMIS_FACE__SECRET: "e2e-face-secret-0123456",
    CMIS_LOG_FORMAT: "json",
  };
  delete env.DATABASE_URL;
  const cli = (...args) => execFileSync(bin, args, { env, encoding: "utf8" });
  cli("demo", "--members", String(members), "--firms", String(firms), "--e2e-clock", NOW);
  const url = `http://127.0.0.1:${port}`;
  const serve = async (clock) => {
    const p = spawn(bin, ["serve", "--e2e-fixed-captcha", CAPTCHA, "--e2e-clock", clock], {
      env,
      stdio: ["ignore", "ignore", "inherit"],
    });
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) break;
      } catch {}
      if (i > 300 || p.exitCode !== null) throw new Error("server did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
    return p;
  };
  let proc = await serve(NOW);
  return {
    url,
    cli,
    /** The same data, served again with the clock at `clock` (a year on, say). */
    restart: async (clock) => {
      const stopped = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await stopped;
      proc = await serve(clock);
    },
    /** Login names of the demo accounts of one type, in order. */
    accounts: (type, limit = 10) =>
      cli("accounts", "--type", type, "--limit", String(limit))
        .trim()
        .split("\n")
        .map((l) => l.split("\t")[0]),
    stop: () => {
      proc.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A page at a phone (390) or PC (1366) width that records console errors. */
export async function openPage(browser, width) {
  const phone = width < 800;
  const context = await browser.newContext({
    viewport: { width, height: phone ? 844 : 900 },
    isMobile: phone,
    hasTouch: phone,
    locale: "zh-CN",
  });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  page.on("pageerror", (e) => errors.push(String(e)));
  // The last requests and answers, for a failure's message.
  const traffic = [];
  const note = (line) => traffic.push(`${new Date().toISOString().slice(11, 23)} ${line}`) > 30 && traffic.shift();
  page.posts = 0;
  page.on("request", (r) => {
    if (r.method() === "POST" && r.isNavigationRequest()) page.posts += 1;
    note(`→ ${r.method()} ${r.url()}`);
  });
  page.on("response", (r) => note(`← ${r.status()} ${r.url()}`));
  page.on("requestfailed", (r) => note(`✗ ${r.failure()?.errorText} ${r.url()}`));
  page.traffic = traffic;
  page.errors = errors;
  return page;
}

export async function closePage(page) {
  const errors = [...page.errors];
  await page.context().close();
  if (errors.length) throw new Error(`console errors: ${errors.join(" | ")}`);
}

/** A phone screenshot is the screen as the phone shows it; a PC one the whole page. */
export async function shot(page, name) {
  const phone = page.viewportSize().width < 800;
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: !phone });
}

/** Fills the portal's login box by its labels and presses 登录. */
export async function login(page, url, typeLabel, user, password, captcha = CAPTCHA) {
  await page.goto(`${url}/`);
  await page.getByLabel("用户类型").selectOption({ label: typeLabel });
  await page.getByLabel("用户名称").fill(user);
  await page.getByLabel("输入密码").fill(password);
  await page.getByLabel("验证码", { exact: true }).fill(captcha);
  // The captcha is drawn when the form is first used.
  await page.getByAltText("验证码图片").waitFor();
  await page.getByRole("button", { name: "登录", exact: true }).click();
  await page.waitForLoadState("load");
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A ZIP of stored (uncompressed) files, as an upload: [{ name, buffer }]. */
export function zipOf(files) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const f of files) {
    const name = Buffer.from(f.name, "utf8");
    const crc = crc32(f.buffer);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(f.buffer.length, 18);
    local.writeUInt32LE(f.buffer.length, 22);
    local.writeUInt16LE(name.length, 26);
    parts.push(local, name, f.buffer);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    entry.writeUInt16LE(0x0800, 8);
    entry.writeUInt32LE(crc, 16);
    entry.writeUInt32LE(f.buffer.length, 20);
    entry.writeUInt32LE(f.buffer.length, 24);
    entry.writeUInt16LE(name.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, name);
    offset += 30 + name.length + f.buffer.length;
  }
  const size = central.reduce((s, b) => s + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(size, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, end]);
}

/**
 * Waits for `text` after a decision; when it does not come, the error says
 * where the page is and what it shows, so a failure on CI can be read.
 */
export async function waitText(page, text, timeout = 30000) {
  try {
    await page.getByText(text).first().waitFor({ timeout });
  } catch (e) {
    const body = await page.locator("main").innerText().catch(() => "(no main)");
    const traffic = (page.traffic || []).join("\n");
    throw new Error(`${text} did not appear at ${page.url()}; the last requests:\n${traffic}\nthe page shows:\n${body.slice(0, 600)}\n${e.message}`);
  }
}

/**
 * Clicks a form's submit button and says so in the output when no request
 * left the page (a click the page lost: a PDF viewer starting up in the page
 * once moved it under the click), with the page's last requests.
 */
export async function submitBy(page, button) {
  const before = page.posts;
  await button.click();
  for (let i = 0; i < 50 && page.posts === before; i++) await page.waitForTimeout(100);
  if (page.posts === before) {
    console.error(`# the click on a submit button sent nothing (${page.url()}):\n# ${(page.traffic || []).join("\n# ")}`);
  }
}

/** A WebM of three seconds, recorded by the browser itself from a canvas. */
export async function recordVideo(browser) {
  const page = await openPage(browser, 1366);
  const bytes = await page.evaluate(async () => {
    const c = document.createElement("canvas");
    c.width = 160;
    c.height = 120;
    const ctx = c.getContext("2d");
    const rec = new MediaRecorder(c.captureStream(10), { mimeType: "video/webm" });
    const chunks = [];
    rec.ondataavailable = (e) => chunks.push(e.data);
    let i = 0;
    const paint = setInterval(() => {
      ctx.fillStyle = `hsl(${(i += 30) % 360}, 70%, 50%)`;
      ctx.fillRect(0, 0, 160, 120);
    }, 100);
    rec.start();
    await new Promise((r) => setTimeout(r, 3000));
    const stopped = new Promise((r) => (rec.onstop = r));
    rec.stop();
    await stopped;
    clearInterval(paint);
    return Array.from(new Uint8Array(await new Blob(chunks).arrayBuffer()));
  });
  await closePage(page);
  return Buffer.from(bytes);
}

/** Presses 确定 in the page's confirmation dialog. */
export async function confirmDialog(page) {
  await page.getByRole("dialog").getByRole("button", { name: "确定" }).click();
}

/** Plays the lesson page's video to its end and waits for 待评价. */
export async function watchLesson(page) {
  const v = page.getByTestId("lesson-video");
  await v.waitFor();
  await page.evaluate(() => {
    const el = document.querySelector("video");
    el.muted = true;
    return el.play();
  });
  try {
    await page.getByTestId("lesson-state").filter({ hasText: "待评价" }).waitFor({ timeout: 30000 });
  } catch (e) {
    const state = await page.evaluate(() => {
      const el = document.querySelector("video");
      return { t: el.currentTime, paused: el.paused, ended: el.ended, error: el.error && el.error.code, ready: el.readyState };
    });
    throw new Error(`the lesson did not finish: ${JSON.stringify(state)}\n${page.traffic.join("\n")}\n${e.message}`);
  }
}
