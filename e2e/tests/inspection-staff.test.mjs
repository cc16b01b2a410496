// The association's 年检设置, 年检进度 with its chart, and the Excel export,
// opened in the test and checked row by row against the page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import XLSX from "xlsx";
import { PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser;
before(async () => {
  server = await startServer({ members: 120 });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

async function open(page, label) {
  await page.goto(`${server.url}/home`);
  const nav = page.viewportSize().width < 800 ? "常用功能" : "功能菜单";
  await page.getByRole("navigation", { name: nav }).getByRole("link", { name: label, exact: true }).click();
}

for (const width of WIDTHS) {
  test(`settings, progress and export at ${width}px`, async () => {
    const page = await openPage(browser, width);
    await login(page, server.url, "中\\省\\市注协", "staff44", PASSWORD);
    await page.waitForURL("**/home");

    await open(page, "年检设置");
    await page.getByLabel(/^会费/).fill("abc");
    await page.getByRole("button", { name: "保存", exact: true }).click();
    await page.getByText("请填写金额（元）").waitFor();
    await page.getByLabel(/^会费/).fill("100");
    await page.getByLabel(/需上传的材料/).fill("*社保缴纳证明\n工作单位证明");
    await page.getByLabel(/^申请成功通知/).fill(`广东省注协：请于12月31日前关注审核结果（${width}）。`);
    await page.getByRole("button", { name: "保存", exact: true }).click();
    await page.getByText("已保存，修改已记入审计日志。").waitFor();
    await shot(page, `inspection-settings-${width}`);

    await open(page, "年检进度");
    await page.getByRole("heading", { name: "2025年度非执业会员年检进度" }).waitFor();
    await page.getByRole("img", { name: "按审核状态统计图" }).waitFor();
    const applied = Number(await page.getByTestId("applied").textContent());
    assert.ok(applied > 0, "the demo's applications are counted");
    const passed = Number(await page.getByTestId("count-passed").textContent());
    await shot(page, `inspection-progress-${width}`);

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "导出Excel" }).click()]);
    const chunks = [];
    for await (const c of await download.createReadStream()) chunks.push(c);
    const book = XLSX.read(Buffer.concat(chunks));
    const rows = XLSX.utils.sheet_to_json(book.Sheets[book.SheetNames[0]], { header: 1 });
    assert.deepEqual(rows[0].slice(0, 6), ["年检年度", "会员编号", "姓名", "地方注协", "市注协", "审核状态"]);
    assert.equal(rows.length - 1, applied, "one row per application");
    assert.equal(rows.filter((r) => r[5] === "年检通过").length, passed);
    assert.ok(rows.slice(1).every((r) => r[0] === 2025 && String(r[1]).startsWith("44")), "only this year and this province");
    await closePage(page);
  });
}
