// The association's 年检设置, 年检进度 with its chart, and the Excel export,
// opened in the test and checked row by row against the page; then 学时记录
// imported from Excel: checked row by row, shown, and imported.
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

    // 导出Excel runs as a job: its page shows the progress, then the file.
    await page.getByRole("button", { name: "导出Excel" }).click();
    await page.getByRole("heading", { name: "导出2025年度非执业会员年检" }).waitFor();
    const link = page.getByRole("link", { name: /^下载 / });
    await link.waitFor();
    await page.getByText("已完成").waitFor();
    await shot(page, `export-job-${width}`);
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
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

/** A workbook in the import template's layout. */
function workbook(rows) {
  const sheet = XLSX.utils.aoa_to_sheet([["会员编号", "年度", "学时", "类别", "内容"], ...rows]);
  const book = XLSX.utils.book_new();
  XLSX.utils.book_append_sheet(book, sheet, "学时记录");
  return XLSX.write(book, { type: "buffer", bookType: "xlsx" });
}

for (const [n, width] of WIDTHS.entries()) {
  test(`learning records imported from Excel at ${width}px`, async () => {
    const [member] = server.accounts("member", 1 + n).slice(n);
    const page = await openPage(browser, width);
    await login(page, server.url, "中\\省\\市注协", `staff${member.slice(0, 2)}`, PASSWORD);
    await page.waitForURL("**/home");
    await open(page, "学时记录");
    const upload = async (rows) => {
      await page.getByLabel("Excel文件").setInputFiles({
        name: "学时记录.xlsx",
        mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        buffer: workbook(rows),
      });
      await page.getByRole("button", { name: "预览" }).click();
      await page.getByRole("heading", { name: "学时记录导入校验" }).waitFor();
      await page.getByTestId("import-summary").waitFor();
    };

    await upload([
      [member, "2025", "8", "专业", "审计准则专题"],
      ["99999999999", "2025", "x", "娱乐", ""],
    ]);
    await page.getByText("1 行有错误").waitFor();
    await page.getByText("会员编号不存在或不属于本单位管辖").waitFor();
    assert.equal(await page.getByRole("button", { name: "确认导入" }).count(), 0, "no import while a row is wrong");
    await shot(page, `learning-import-errors-${width}`);

    await page.getByRole("link", { name: "重新上传" }).click();
    await upload([
      [member, "2025", "8", "专业", "审计准则专题"],
      [member, "2025", "2", "职业道德", "职业道德专题"],
    ]);
    await page.getByText("全部无误，合计 10.00 学时").waitFor();
    await shot(page, `learning-import-checked-${width}`);
    await page.getByRole("button", { name: "确认导入" }).click();
    await page.getByRole("heading", { name: "学时记录导入", exact: true }).waitFor();
    await page.getByText("已导入2条学时记录").waitFor();
    await shot(page, `learning-import-done-${width}`);

    // The ledger shows them; the jobs stay listed.
    await open(page, "学时记录");
    await page.getByLabel("会员编号").fill(member);
    await page.getByRole("button", { name: "查询", exact: true }).click();
    await page.getByRole("cell", { name: "职业道德专题" }).waitFor();
    await page.goto(`${server.url}/jobs`);
    await page.getByRole("heading", { name: "导入导出记录" }).waitFor();
    assert.ok((await page.getByRole("row", { name: /学时记录导入/ }).count()) >= 3);
    await shot(page, `jobs-${width}`);
    await closePage(page);
  });
}
