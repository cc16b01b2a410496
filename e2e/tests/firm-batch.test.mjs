// 事务所年检复核 (seed 001 chapter 3) and the province's 年检批次审核, by the
// labels: the firm ticks its CPAs in 注师待审核 → 申请 → the 年检信息 dialog
// with * 社保证明材料 → a batch numbered {事务所编号}-{年度}-{序号} in
// 已提交省注协 → 撤回 → 申请 again; the province opens the batch (撤回 is
// no more), returns one CPA out of it (注师待申请 shows them) and passes the
// rest; 年检信息查询 with the QR code. A whole batch returned comes back
// under 已退回 and goes again by 再次申请-修改附件 under the same number.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CAPTCHA, PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser;
const YEAR = 2025;
const PDF = { name: "社保证明.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\n%%EOF\n") };
/** Per width: a Guangdong firm (not Shenzhen's) and three of its CPAs who can apply online. */
const firms = {};

async function api(path, token, method = "GET", body) {
  const r = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json().catch(() => null) };
}

async function apiLogin(type, login) {
  const cap = await api("/captcha");
  const r = await api("/auth/login", null, "POST", {
    user_type: type, login_name: login, password: PASSWORD, captcha_id: cap.json.id, captcha: CAPTCHA,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.token;
}

/** A CPA applies through the API and passes the face check on the provider's page (a phone). */
async function apply(login) {
  const token = await apiLogin("cpa", login);
  const o = (await api("/me/cpa-check", token)).json;
  for (const m of o.materials.filter((m) => m.required)) {
    const body = { label: m.name, file_name: "任职资格检查表.pdf", data_base64: PDF.buffer.toString("base64") };
    assert.equal((await api("/me/cpa-check/materials", token, "POST", body)).status, 200);
  }
  const r = await api("/me/cpa-check", token, "POST", { channel: "phone" });
  assert.equal(r.json.outcome, "face", JSON.stringify(r.json));
  const phone = await openPage(browser, 390);
  await phone.goto(new URL(r.json.url, server.url).href);
  await phone.getByLabel("我已阅读并同意《人脸认证服务协议》").check();
  await phone.getByRole("button", { name: "同意并继续" }).click();
  await phone.getByRole("link", { name: "开始认证" }).click();
  await phone.getByRole("button", { name: "模拟认证通过" }).click();
  await phone.getByTestId("face-result").waitFor();
  await closePage(phone);
}

before(async () => {
  server = await startServer({ members: 2, firms: 8 });
  browser = await launch();
  const candidates = server.accounts("firm", 20).filter((f) => f.startsWith("44") && !f.startsWith("4403"));
  const cpas = server.accounts("cpa", 200);
  for (const width of WIDTHS) {
    for (const firm of candidates) {
      if (Object.values(firms).some((f) => f.firm === firm)) continue;
      const ready = [];
      for (const login of cpas.filter((c) => c.startsWith(firm) && c.length === 12)) {
        const o = (await api("/me/cpa-check", await apiLogin("cpa", login))).json;
        if (o.face_online && o.blockers.length === 0) ready.push(login);
        if (ready.length === 3) break;
      }
      if (ready.length === 3) {
        firms[width] = { firm, cpas: ready };
        break;
      }
    }
    assert.ok(firms[width], `a firm with three ready CPAs for ${width}`);
  }
});
after(async () => {
  await browser?.close();
  server?.stop();
});

async function signIn(width, typeLabel, user) {
  const page = await openPage(browser, width);
  await login(page, server.url, typeLabel, user, PASSWORD);
  await page.waitForURL("**/home");
  return page;
}

/** 事务所年检复核 from the PC menu or the phone's home tile. */
async function openReview(page) {
  if (page.viewportSize().width < 800) {
    if (!page.url().endsWith("/home")) await page.getByRole("navigation", { name: "底部导航" }).getByRole("link", { name: "首页" }).click();
    await page.getByRole("navigation", { name: "常用功能" }).getByRole("link", { name: "事务所年检复核" }).click();
  } else {
    await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "事务所年检复核" }).click();
  }
  await page.getByRole("navigation", { name: "事务所年检复核" }).waitFor();
}

async function tab(page, name) {
  if (!(await page.getByRole("navigation", { name: "事务所年检复核" }).count())) await openReview(page);
  await page.getByRole("navigation", { name: "事务所年检复核" }).getByRole("link", { name }).click();
}

/** Ticks the CPAs in 注师待审核 and opens the 年检信息 dialog with 申请. */
async function tickAndApply(page, cpas) {
  await tab(page, "注师待审核");
  for (const c of cpas) await page.getByRole("row", { name: new RegExp(c) }).getByRole("checkbox").check();
  await page.getByRole("button", { name: "申请", exact: true }).click();
  await page.getByRole("heading", { name: "年检信息" }).waitFor();
}

async function uploadSocialSecurity(page) {
  await page.getByLabel("选择文件").setInputFiles(PDF);
  await page.getByRole("button", { name: "点击上传" }).click();
  await page.getByRole("link", { name: PDF.name }).first().waitFor();
}

async function confirm(page) {
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "确定" }).click();
}

async function staffPage(width) {
  const staff = await signIn(width, "中\\省\\市注协", "staff44");
  if (width < 800) {
    await staff.goto(`${server.url}/association/cpa-batches`);
  } else {
    await staff.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "年检批次审核" }).click();
  }
  await staff.getByRole("heading", { name: "年检批次审核" }).waitFor();
  return staff;
}

for (const width of WIDTHS) {
  test(`a firm sends a batch, withdraws it, sends again; the province returns one CPA and passes the rest, at ${width}px`, async () => {
    const { firm, cpas } = firms[width];
    for (const c of cpas) await apply(c);
    const page = await signIn(width, "会计师事务所", firm);
    await page.getByTestId("firm-cpas").waitFor();
    await shot(page, `firm-home-${width}`);
    await openReview(page);
    await shot(page, `firm-queue-${width}`);

    // 申请 without the required * 社保证明材料 is refused beside the upload.
    await tickAndApply(page, cpas.slice(0, 2));
    assert.match(await page.getByTestId("upload-hint").textContent(), /支持类型: pdf、jpg、png、xls, 最多可上传10个附件, 单个附件大小不能超过5MB/);
    await page.getByRole("button", { name: "申请", exact: true }).click();
    await confirm(page);
    await page.getByTestId("file-error").getByText("请上传“社保证明材料”").waitFor();
    await uploadSocialSecurity(page);
    await shot(page, `firm-batch-dialog-${width}`);
    await page.getByRole("button", { name: "申请", exact: true }).click();
    await confirm(page);
    await page.getByTestId("message").getByText(`已提交年检批次${firm}-${YEAR}-1`).waitFor();
    const first = page.getByRole("row", { name: new RegExp(`${firm}-${YEAR}-1`) });
    await first.getByText("待审核").waitFor();
    await shot(page, `firm-batches-${width}`);

    // 撤回 while the province has not started on it.
    await first.getByRole("button", { name: "撤回" }).click();
    await confirm(page);
    await page.getByTestId("message").getByText(/已撤回该批次/).waitFor();
    await page.getByTestId("batch-state").getByText("已撤回").waitFor();
    await shot(page, `firm-batch-withdrawn-${width}`);

    // All three again: the next number.
    await tickAndApply(page, cpas);
    if (!(await page.getByRole("link", { name: PDF.name }).count())) await uploadSocialSecurity(page);
    await page.getByRole("button", { name: "申请", exact: true }).click();
    await confirm(page);
    const batchNo = `${firm}-${YEAR}-2`;
    await page.getByTestId("message").getByText(`已提交年检批次${batchNo}`).waitFor();

    // The province opens the batch: 审核中, its CPAs and the firm's 社保证明材料.
    const staff = await staffPage(width);
    await staff.getByRole("row", { name: new RegExp(batchNo) }).getByRole("link", { name: "查看" }).click();
    await staff.getByTestId("state").getByText("审核中").waitFor();
    await staff.getByRole("heading", { name: "事务所附件" }).waitFor();
    await shot(staff, `province-batch-${width}`);
    // The firm can no longer take it back.
    await page.reload();
    const second = page.getByRole("row", { name: new RegExp(batchNo) });
    await second.getByText("审核中").waitFor();
    assert.equal(await second.getByRole("button", { name: "撤回" }).count(), 0);

    // One CPA returned out of the batch, with a reason.
    const batchUrl = staff.url();
    await staff.getByRole("row", { name: new RegExp(cpas[2]) }).getByRole("link", { name: "审核" }).click();
    await staff.getByLabel(/^退回原因/).fill("任职资格检查表未盖章");
    await staff.getByRole("button", { name: "退回", exact: true }).click();
    await staff.getByText("已办理：退回").waitFor();
    // The rest pass with the batch.
    await staff.goto(batchUrl);
    await staff.getByRole("button", { name: "审核通过", exact: true }).click();
    // It passes every CPA still waiting: asked first.
    await staff.getByRole("dialog").getByText(/所有“地方注协待审核”的注册会计师年检通过/).waitFor();
    await confirm(staff);
    await staff.getByText("已办理：审核通过").waitFor();
    await staff.getByTestId("state").getByText("已审核").waitFor();
    await shot(staff, `province-batch-passed-${width}`);
    await closePage(staff);

    // 注师待申请: the returned CPA, with the reason; a reminder.
    await tab(page, "注师待申请");
    const returned = page.getByRole("row", { name: new RegExp(cpas[2]) });
    await returned.getByText("任职资格检查表未盖章").waitFor();
    await returned.getByRole("checkbox").check();
    await page.getByRole("button", { name: "提醒" }).click();
    await page.getByTestId("message").getByText(/已提醒1人/).waitFor();
    await shot(page, `firm-not-applied-${width}`);

    // 年检信息查询: the passed CPA, the trail and the QR code.
    if (width < 800) await page.goto(`${server.url}/firm/cpa-status`);
    else await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "年检信息查询" }).click();
    await page.getByRole("heading", { name: "年检信息查询" }).waitFor();
    const passed = page.getByRole("row", { name: new RegExp(cpas[0]) });
    await passed.getByText("年检通过").waitFor();
    await shot(page, `firm-cpa-status-${width}`);
    await passed.getByRole("link", { name: "二维码" }).click();
    await page.getByRole("img", { name: /二维码/ }).first().waitFor();
    await shot(page, `firm-cpa-qr-${width}`);
    await closePage(page);
  });
}

test("a batch returned whole is sent again under its number by 再次申请-修改附件", async () => {
  const width = 1366;
  const { firm } = firms[width];
  const page = await signIn(width, "会计师事务所", firm);
  await openReview(page);
  // The returned CPA of the first test applies again (再次申请), then goes in a batch that is returned whole.
  const again = firms[width].cpas[2];
  const cpaToken = await apiLogin("cpa", again);
  const r = await api("/me/cpa-check", cpaToken, "POST", { channel: "phone" });
  assert.equal(r.json.outcome, "submitted", JSON.stringify(r.json));
  await tickAndApply(page, [again]);
  await uploadSocialSecurity(page);
  await page.getByRole("button", { name: "申请", exact: true }).click();
  await confirm(page);
  const batchNo = `${firm}-${YEAR}-3`;
  await page.getByTestId("message").getByText(`已提交年检批次${batchNo}`).waitFor();

  const staff = await staffPage(width);
  await staff.getByRole("row", { name: new RegExp(batchNo) }).getByRole("link", { name: "查看" }).click();
  await staff.getByLabel(/^退回原因/).fill("社保证明材料不清晰，请重新上传");
  await staff.getByRole("button", { name: "退回", exact: true }).click();
  await staff.getByText("已办理：退回").waitFor();
  await closePage(staff);

  await tab(page, "已退回");
  const row = page.getByRole("row", { name: new RegExp(batchNo) });
  // 已退回 shows the reason (seed 001 §3.4).
  await row.getByText("已退回", { exact: true }).click();
  await row.getByText(/社保证明材料不清晰，请重新上传/).waitFor();
  await shot(page, "firm-returned-1366");
  await row.getByRole("link", { name: "再次申请-修改附件" }).click();
  await page.getByRole("heading", { name: "再次申请-修改附件" }).waitFor();
  await uploadSocialSecurity(page);
  await page.getByRole("checkbox", { name: /删除/ }).first().check();
  await shot(page, "firm-resubmit-1366");
  await page.getByRole("button", { name: "确定" }).click();
  await confirm(page);
  await page.getByTestId("message").getByText("已再次申请").waitFor();
  await page.getByRole("heading", { name: new RegExp(batchNo) }).waitFor();
  await page.getByTestId("batch-state").getByText("审核中").waitFor();
  await shot(page, "firm-resubmitted-1366");
  await closePage(page);
});
