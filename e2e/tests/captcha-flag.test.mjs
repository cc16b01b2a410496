// The fixed captcha of the browser tests cannot be switched on for a server
// that others can reach: `cmis serve` refuses the flag unless bound to loopback.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const bin = process.env.CMIS_BIN || path.resolve(import.meta.dirname, "../../target/debug/cmis");

test("the fixed captcha is refused on a public address", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cmis-flag-"));
  try {
    const env = {
      ...process.env,
      CMIS_CONFIG: path.join(dir, "absent.toml"),
      CMIS_LISTEN: "0.0.0.0:0",
      CMIS_DATABASE_URL: `sqlite://${dir}/x.sqlite3?mode=rwc`,
      CMIS_DATA_DIR: dir,
    };
    delete env.DATABASE_URL;
    const r = spawnSync(bin, ["serve", "--e2e-fixed-captcha", "2468"], { env, encoding: "utf8", timeout: 30000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /only allowed on a loopback address/);
    const clock = spawnSync(bin, ["serve", "--e2e-clock", "2026-06-15T10:00:00+08:00"], { env, encoding: "utf8", timeout: 30000 });
    assert.notEqual(clock.status, 0, "nor a fixed clock");
    assert.match(clock.stderr, /only allowed on a loopback address/);
    // No environment variable or configuration key turns it on.
    const help = spawnSync(bin, ["serve", "--help"], { env, encoding: "utf8" });
    const option = help.stdout.slice(help.stdout.indexOf("--e2e-fixed-captcha"));
    const block = option.slice(0, option.indexOf("\n  -") === -1 ? undefined : option.indexOf("\n  -"));
    assert.ok(block.length > 0);
    assert.doesNotMatch(block, /\[env:/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
