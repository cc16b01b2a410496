// 注册会计师年检 by the seed's labels (seed 001 chapter 2): on PC 新建申请 →
// the association's notice → 确认信息 → 申请年检 → 上传材料 → 确认申请 → the
// face-check QR code, scanned by a phone (a second page at 390 px) that passes
// on the provider's page, while the PC page turns to 申请成功 by itself. On a
// phone: 剩余人脸认证次数, the agreement, the 注意事项, a failed check and a
// retry. Twenty checks a day. The firm's 退回 and 再次申请 without a second
// check; history, the trail and the QR code. A CPA verified in person. A
// retired CPA's materials, found again a year on.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CAPTCHA, PASSWORD, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser, ready, passport;
/** A CPA of 广东省注协 (not of 深圳, 4403). */
const guangdong = (login) => login.startsWith("44") && !login.startsWith("4403");
const PDF = { name: "任职资格检查表.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\n%%EOF\n") };
const YEAR = 2025;

async function api(path, token, method = "GET", body) {
  const r = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}

async function apiLogin(login) {
  const cap = await api("/captcha");
  const r = await api("/auth/login", null, "POST", {
    user_type: "cpa", login_name: login, password: PASSWORD, captcha_id: cap.json.id, captcha: CAPTCHA,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.token;
}

before(async () => {
  server = await startServer({ members: 4, firms: 6 });
  browser = await launch();
  // CPAs with the year's hours who can check online, and one holding a passport.
  ready = [];
  // The demo gives the second CPA of its third firm a passport.
  passport = `${server.accounts("firm", 3)[2]}0002`;
  for (const login of server.accounts("cpa", 60)) {
    if (ready.length === 5 && ready.slice(4).some(guangdong)) break;
    if (login === passport) continue;
    const o = (await api("/me/cpa-check", await apiLogin(login))).json;
    if (o.face_online && o.blockers.length === 0) ready.push(login);
  }
  assert.ok(ready.length >= 5 && ready.slice(4).some(guangdong), `ready ${ready}`);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

async function cpaPage(width, login) {
  const page = await openPage(browser, width);
  await login_(page, login);
  return page;
}

async function login_(page, user) {
  await login(page, server.url, "注册会计师", user, PASSWORD);
  await page.waitForURL("**/home");
}

/** 新建申请 (PC) or the 年检申请 tile (phone), the notice, 确认信息, 申请年检. */
async function startApplication(page, width) {
  if (width < 800) {
    await page.getByRole("navigation", { name: "常用功能" }).getByRole("link", { name: "年检申请" }).click();
  } else {
    await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "注册会计师年检申请" }).click();
    await page.getByRole("link", { name: "新建申请" }).click();
  }
  const notice = page.getByRole("dialog", { name: "提示" });
  await notice.getByTestId("pre-notice").waitFor();
  await shot(page, `cpa-notice-${width}`);
  await notice.getByRole("button", { name: "确定" }).click();
  await page.getByRole("heading", { name: "个人信息" }).waitFor();
  await page.getByTestId("regulator-note").getByText("注册会计师行业统一监管平台").waitFor();
  await shot(page, `cpa-confirm-${width}`);
  await page.getByRole("link", { name: "申请年检" }).click();
  await page.getByRole("heading", { name: /上传材料/ }).waitFor();
}

async function upload(page, material, file = PDF) {
  await page.getByLabel("材料名称").selectOption({ label: material });
  await page.getByLabel("选择文件").setInputFiles(file);
  await page.getByRole("button", { name: "点击上传" }).click();
  await page.getByRole("link", { name: file.name }).first().waitFor();
}

/** The phone's part: the agreement, the 注意事项, and the provider's page. */
async function phoneCheck(phone, url, pass, tag) {
  await phone.goto(url);
  await phone.getByRole("button", { name: "同意并继续" }).click();
  // The agreement must be ticked first.
  await phone.getByText("请阅读并勾选《人脸认证服务协议》").waitFor();
  await phone.getByLabel("我已阅读并同意《人脸认证服务协议》").check();
  await shot(phone, `cpa-face-agreement-${tag}`);
  await phone.getByRole("button", { name: "同意并继续" }).click();
  await phone.getByTestId("face-tips").waitFor();
  assert.match(await phone.getByTestId("face-tips").textContent(), /30-50cm/);
  await shot(phone, `cpa-face-tips-${tag}`);
  await phone.getByRole("link", { name: "开始认证" }).click();
  await phone.getByRole("heading", { name: "人脸核身" }).waitFor();
  await phone.getByRole("button", { name: pass ? "模拟认证通过" : "模拟认证不通过" }).click();
  await phone.getByTestId("face-result").waitFor();
}

test("on PC the QR code is scanned by a phone that passes, and the PC page turns to 申请成功 by itself", async () => {
  const user = ready[0];
  const pc = await cpaPage(1366, user);
  await pc.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "注册会计师年检申请" }).click();
  await pc.getByText("暂无年检记录").waitFor();
  await startApplication(pc, 1366);
  await upload(pc, "注册会计师任职资格检查表");
  await shot(pc, "cpa-materials-1366");
  await pc.getByRole("button", { name: "确认申请" }).click();
  const dialog = pc.getByRole("dialog", { name: "确认申请" });
  await dialog.getByText(`确认要申请 ${YEAR} 年度年检吗？`).waitFor();
  assert.match(await dialog.getByTestId("face-prompt").textContent(), /人脸认证支持的身份证件类型为居民身份证和港澳台居民居住证/);
  await shot(pc, "cpa-confirm-dialog-1366");
  await dialog.getByRole("button", { name: "确定" }).click();
  await pc.getByTestId("face-qr").locator("svg").waitFor();
  await shot(pc, "cpa-face-qr-1366");
  const url = (await pc.getByTestId("face-url").textContent()).trim();

  const phone = await openPage(browser, 390);
  await phoneCheck(phone, url, true, "scanned-390");
  assert.equal((await phone.getByTestId("face-result").textContent()).trim(), "人脸认证通过");
  await phone.getByText("请在电脑上查看申请结果").waitFor();
  await shot(phone, "cpa-face-passed-scanned-390");

  // The PC page, untouched, shows the result and the association's notice.
  const done = pc.getByRole("dialog", { name: "申请成功" });
  await done.getByTestId("success-notice").waitFor({ timeout: 15000 });
  await shot(pc, "cpa-face-passed-pc-1366");
  await done.getByRole("link", { name: "确认" }).click();
  await pc.getByRole("heading", { name: "年检申请成功" }).waitFor();
  assert.equal((await pc.getByTestId("state").textContent()).trim(), "事务所待审核");
  await shot(pc, "cpa-done-1366");
  await closePage(phone);
  await closePage(pc);
});

test("on a phone: 剩余人脸认证次数, a failed check, 确认申请 again and a pass", async () => {
  const user = ready[1];
  const page = await cpaPage(390, user);
  await startApplication(page, 390);
  await upload(page, "注册会计师任职资格检查表");
  for (const [pass, left] of [[false, "20"], [true, "19"]]) {
    await page.getByRole("button", { name: "确认申请" }).click();
    const dialog = page.getByRole("dialog", { name: "确认申请" });
    await dialog.getByText("是否继续?").waitFor();
    await shot(page, `cpa-confirm-dialog-390-${pass ? "retry" : "first"}`);
    await dialog.getByRole("button", { name: "确定" }).click();
    const count = page.getByRole("dialog", { name: "人脸认证" });
    assert.equal((await count.getByTestId("face-left-dialog").textContent()).trim(), left);
    await shot(page, `cpa-face-count-390-${left}`);
    await count.getByRole("button", { name: "开始人脸认证" }).click();
    await phoneCheck(page, page.url(), pass, `phone-${pass ? "pass" : "fail"}-390`);
    if (!pass) {
      assert.equal((await page.getByTestId("face-result").textContent()).trim(), "人脸认证未通过");
      await shot(page, "cpa-face-failed-390");
      await page.getByRole("link", { name: "返回" }).click();
      await page.getByRole("heading", { name: /上传材料/ }).waitFor();
    }
  }
  // Back on its own phone, logged in: the notice, then 确认 → 年检申请成功.
  const notice = page.getByRole("dialog", { name: "提示" });
  await notice.getByTestId("success-notice").waitFor();
  await shot(page, "cpa-face-passed-390");
  await notice.getByRole("link", { name: "确认" }).click();
  await page.getByRole("heading", { name: "年检申请成功" }).waitFor();
  await shot(page, "cpa-done-390");
  await closePage(page);
});

test("the twentieth face check is the last of the day", async () => {
  const user = ready[2];
  const token = await apiLogin(user);
  const o = (await api("/me/cpa-check", token)).json;
  const data = PDF.buffer.toString("base64");
  const up = await api("/me/cpa-check/materials", token, "POST", { label: o.materials[0].name, file_name: "表.pdf", data_base64: data });
  assert.equal(up.status, 200, JSON.stringify(up.json));
  for (let i = 0; i < 20; i++) {
    const r = await api("/me/cpa-check", token, "POST", { channel: "pc" });
    assert.equal(r.json.outcome, "face", JSON.stringify(r.json));
  }
  for (const width of [1366, 390]) {
    const page = await cpaPage(width, user);
    await page.goto(`${server.url}/cpa-check/materials`);
    assert.equal((await page.getByTestId("face-left").textContent()).trim(), "0");
    await page.getByRole("button", { name: "确认申请" }).click();
    await page.getByRole("dialog", { name: "确认申请" }).getByRole("button", { name: "确定" }).click();
    if (width < 800) {
      const count = page.getByRole("dialog", { name: "人脸认证" });
      await count.getByText("今日人脸认证次数已用完").waitFor();
      assert.ok(await count.getByRole("button", { name: "开始人脸认证" }).isDisabled());
    } else {
      await page.getByTestId("form-error").getByText("今日人脸认证次数已用完").waitFor();
    }
    await shot(page, `cpa-face-limit-${width}`);
    await closePage(page);
  }
});

test("the firm returns it; 再次申请 needs no second face check; history, the trail and the QR code", async () => {
  const user = ready[0];
  const firm = await openPage(browser, 1366);
  await login(firm, server.url, "会计师事务所", user.slice(0, 8), PASSWORD);
  await firm.waitForURL("**/home");
  await firm.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "事务所年检复核" }).click();
  await firm.getByRole("row", { name: new RegExp(user) }).getByRole("link", { name: "查看" }).click();
  await firm.getByTestId("verification").getByText(/人脸认证通过/).waitFor();
  await shot(firm, "cpa-firm-review-1366");
  await firm.getByLabel(/^退回原因/).fill("任职资格检查表未签字，请重新上传。");
  await firm.getByRole("button", { name: "退回", exact: true }).click();
  await firm.getByText("已办理：退回").waitFor();
  await closePage(firm);

  for (const width of [390, 1366]) {
    const page = await cpaPage(width, user);
    if (width < 800) {
      await page.getByTestId("returned-flag").waitFor();
      await shot(page, "cpa-returned-home-390");
      // 🔔 → the latest messages → 消息列表 → 查看详情 (seed 001 §2.3.1).
      await page.getByLabel(/消息，未读/).click();
      await page.getByRole("region", { name: "最新消息" }).getByText(/事务所退回/).first().waitFor();
      await shot(page, "cpa-returned-bell-390");
      await page.getByRole("region", { name: "最新消息" }).getByRole("link", { name: /消息列表|更多/ }).first().click();
      await page.getByRole("heading", { name: "消息列表" }).waitFor();
      await page.getByRole("row", { name: /事务所退回/ }).first().getByRole("link", { name: "查看详情" }).click();
      await page.getByText("任职资格检查表未签字").first().waitFor();
      await shot(page, "cpa-returned-message-390");
    } else {
      await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "注册会计师年检申请" }).click();
      await page.getByRole("link", { name: "事务所退回", exact: true }).click();
      const trail = page.getByRole("region", { name: "查看审批信息" });
      await trail.getByText("事务所审核退回", { exact: true }).first().waitFor();
      await trail.getByText("查看详情").last().click();
      await trail.getByText("任职资格检查表未签字，请重新上传。").waitFor();
      await shot(page, "cpa-returned-trail-1366");
      // 再次申请: no face check.
      await page.goto(`${server.url}/cpa-check`);
      await page.getByRole("link", { name: "再次申请" }).click();
      // The notice again, as at 新建申请.
      await page.getByRole("dialog", { name: "提示" }).getByRole("button", { name: "确定" }).click();
      await page.getByTestId("return-reason").waitFor();
      await page.getByRole("link", { name: "申请年检" }).click();
      await page.getByRole("button", { name: "确认申请" }).click();
      const dialog = page.getByRole("dialog", { name: "确认申请" });
      await dialog.getByText(`确认要申请 ${YEAR} 年度年检吗？`).waitFor();
      assert.equal(await dialog.getByTestId("face-prompt").count(), 0, "no face check for a resubmission");
      await dialog.getByRole("button", { name: "确定" }).click();
      await page.getByRole("heading", { name: "年检申请成功" }).waitFor();
      await shot(page, "cpa-resubmitted-1366");
      // 年检信息查询 → 查看, and 二维码.
      await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "年检信息查询" }).click();
      await page.getByRole("link", { name: "查看" }).first().click();
      for (const label of ["姓名", "民族", "有效证件号码", "籍贯", "户口所在地", "政治面貌"]) {
        await page.getByText(label, { exact: true }).first().waitFor();
      }
      await page.getByRole("region", { name: "查看审批信息" }).getByText("注册会计师再次提交年检申请").first().waitFor();
      await shot(page, "cpa-view-1366");
    }
    await page.goto(`${server.url}/${width < 800 ? "me" : "home"}`);
    if (width < 800) await page.getByRole("link", { name: "年检二维码" }).click();
    else await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "二维码" }).click();
    await page.getByTestId("cpa-qr").locator("svg").waitFor();
    await shot(page, `cpa-qr-${width}`);
    const scan = await page.getByTestId("scan-link").getAttribute("href");
    await page.goto(scan);
    await page.getByRole("heading", { name: "注册会计师年检结果" }).waitFor();
    // Before 再次申请 (the phone's turn) the year is returned; after it, with the firm again.
    await page.getByRole("cell", { name: width < 800 ? "事务所退回" : "事务所待审核" }).waitFor();
    await shot(page, `cpa-public-${width}`);
    await closePage(page);
  }
});

test("a CPA verified in person at the association applies without a face check", async () => {
  const staff = await openPage(browser, 1366);
  await login(staff, server.url, "中\\省\\市注协", "staffcicpa", PASSWORD);
  await staff.waitForURL("**/home");
  const page = await cpaPage(390, passport);
  await page.goto(`${server.url}/cpa-check/materials`);
  await page.getByTestId("offline-only").waitFor();
  await shot(page, "cpa-offline-only-390");
  await staff.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "线下人工核验" }).click();
  await staff.getByLabel("注册会计师证书编号").fill(passport);
  await staff.getByRole("button", { name: "查找" }).click();
  await staff.getByLabel(/^核验的证件类型/).selectOption({ label: "护照" });
  await staff.getByLabel(/^证件号码/).fill("E00000000");
  await staff.getByRole("button", { name: "确认核验" }).click();
  await staff.getByText("证件类型或号码与该注册会计师的基本信息不一致").waitFor();
  await shot(staff, "cpa-offline-mismatch-1366");
  // The demo's passport numbers: E and the person-number (firm index × 1000 + 1).
  const firmIndex = server.accounts("firm", 60).indexOf(passport.slice(0, 8));
  await staff.getByLabel(/^证件号码/).fill(`E${String(firmIndex * 1000 + 1).padStart(8, "0")}`);
  await staff.getByRole("button", { name: "确认核验" }).click();
  await staff.getByTestId("saved").waitFor();
  await shot(staff, "cpa-offline-recorded-1366");
  await closePage(staff);

  await page.goto(`${server.url}/cpa-check/materials`);
  await page.getByTestId("verified-in-person").waitFor();
  await upload(page, "注册会计师任职资格检查表");
  await page.getByRole("button", { name: "确认申请" }).click();
  await page.getByRole("dialog", { name: "确认申请" }).getByRole("button", { name: "确定" }).click();
  await page.getByRole("heading", { name: "年检申请成功" }).waitFor();
  await shot(page, "cpa-offline-done-390");
  await closePage(page);
});

test("CICPA synchronises the regulator's file, and a province sets its own notice and materials", async () => {
  for (const width of [1366, 390]) {
    const staff = await openPage(browser, width);
    await login(staff, server.url, "中\\省\\市注协", "staffcicpa", PASSWORD);
    await staff.waitForURL("**/home");
    await staff.goto(`${server.url}/association/regulator`);
    const lines = [
      { kind: "firm", firm_no: `3301${width}`.slice(0, 8).padEnd(8, "9"), firm_name: `杭州测试${width}会计师事务所`, form: "合伙" },
      { kind: "cpa", cpa_no: "33019999000", name: "坏行", firm_no: "33019999" },
    ];
    const file = Buffer.from(lines.map((l) => JSON.stringify(l)).join("\n"));
    await staff.getByLabel("同步文件").setInputFiles({ name: `regulator-${width}.jsonl`, mimeType: "application/json", buffer: file });
    await staff.getByRole("button", { name: "上传并同步" }).click();
    await staff.getByTestId("sync-done").waitFor({ timeout: 30000 });
    await shot(staff, `cpa-sync-job-${width}`);
    await staff.getByRole("link", { name: "查看同步记录" }).click();
    await staff.getByText("注册会计师证书编号应为12位数字").waitFor();
    await shot(staff, `cpa-sync-run-${width}`);
    await closePage(staff);
  }
  const gd = await openPage(browser, 1366);
  await login(gd, server.url, "中\\省\\市注协", "staff44", PASSWORD);
  await gd.waitForURL("**/home");
  await gd.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "注册会计师年检设置" }).click();
  await gd.getByLabel(/^提交前提示信息/).fill("广东省注协提示：请于6月30日前完成年检申请。");
  await gd.getByLabel(/^在职注师/).fill("*注册会计师任职资格检查表\n执业情况说明");
  await gd.getByRole("button", { name: "保存", exact: true }).click();
  await gd.getByText("已保存，修改已记入审计日志。").waitFor();
  await shot(gd, "cpa-settings-1366");
  await closePage(gd);
  const page = await cpaPage(390, ready.slice(4).find(guangdong));
  await page.getByRole("navigation", { name: "常用功能" }).getByRole("link", { name: "年检申请" }).click();
  await page.getByRole("dialog", { name: "提示" }).getByText("广东省注协提示：请于6月30日前完成年检申请。").waitFor();
  await shot(page, "cpa-own-notice-390");
  await closePage(page);
});

test("a retired CPA uploads the retired list, and a year on finds the choice and the files", async () => {
  const user = ready[3];
  const pc = await cpaPage(1366, user);
  await startApplication(pc, 1366);
  await pc.getByLabel("是（离退休）").check();
  await pc.getByRole("heading", { name: "上传材料（离退休注师）" }).waitFor();
  await upload(pc, "离退休证明", { ...PDF, name: "退休证.pdf" });
  await upload(pc, "注册会计师任职资格检查表");
  await shot(pc, "cpa-retired-materials-1366");
  await pc.getByRole("button", { name: "确认申请" }).click();
  await pc.getByRole("dialog", { name: "确认申请" }).getByRole("button", { name: "确定" }).click();
  const url = (await pc.getByTestId("face-url").textContent()).trim();
  const phone = await openPage(browser, 390);
  await phoneCheck(phone, url, true, "retired-390");
  await closePage(phone);
  await pc.getByRole("dialog", { name: "申请成功" }).getByRole("link", { name: "确认" }).click({ timeout: 15000 });
  await pc.getByRole("heading", { name: "年检申请成功" }).waitFor();
  await closePage(pc);

  // A year on.
  await server.restart("2027-06-15T10:00:00+08:00");
  const next = await cpaPage(1366, user);
  await next.goto(`${server.url}/cpa-check/materials`);
  await next.getByRole("heading", { name: "2026年度注册会计师年检申请" }).waitFor();
  assert.ok(await next.getByLabel("是（离退休）").isChecked(), "离退休 carried over");
  await next.getByRole("link", { name: "退休证.pdf" }).waitFor();
  await next.getByRole("link", { name: "任职资格检查表.pdf" }).waitFor();
  await shot(next, "cpa-retired-next-year-1366");
  await closePage(next);
});
