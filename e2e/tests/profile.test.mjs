// 基本信息 → 修改信息: a member told which required fields are missing completes them.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser, members;
before(async () => {
  server = await startServer();
  browser = await launch();
  members = server.accounts("member", 4);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

for (const [n, width] of WIDTHS.entries()) {
  test(`a member completes the profile at ${width}px`, async () => {
    const page = await openPage(browser, width);
    await login(page, server.url, "非执业会员", members[n], PASSWORD);
    await page.waitForURL("**/home");
    if (width < 800) {
      await page.getByRole("navigation", { name: "常用功能" }).getByRole("link", { name: "基本信息" }).click();
    } else {
      await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: "基本信息" }).click();
    }
    await page.getByRole("heading", { name: "基本信息", level: 1 }).waitFor();
    const missing = await page.getByTestId("missing").textContent();
    assert.match(missing, /邮政编码/);
    await shot(page, `profile-missing-${width}`);

    await page.getByRole("link", { name: "修改信息" }).click();
    assert.equal(await page.getByLabel("姓名").isEditable(), false, "identity fields are read-only");
    await page.getByLabel("民族").fill("汉族");
    await page.getByLabel("政治面貌").selectOption({ label: "中共党员" });
    await page.getByLabel("通讯地址").fill("广州市天河区体育西路191号");
    await page.getByLabel("邮政编码").fill("5106");
    await page.getByLabel("职业状态").selectOption({ label: "在职" });
    await page.getByLabel("单位性质").selectOption({ label: "国有企业" });
    await page.getByLabel(/^学历/).selectOption({ label: "硕士研究生" });
    await page.getByLabel("毕业院校").fill("中山大学");
    await page.getByLabel("全科合格年份").fill("2012");
    await page.getByLabel("资产评估师").check();
    await page.getByRole("button", { name: "保存", exact: true }).click();
    await page.getByText("邮政编码应为6位数字").waitFor();
    await shot(page, `profile-edit-error-${width}`);
    await page.getByLabel("邮政编码").fill("510620");
    await page.getByRole("button", { name: "保存", exact: true }).click();
    await page.getByText("信息已保存").waitFor();
    assert.equal(await page.getByTestId("missing").count(), 0);
    assert.ok(await page.getByText("资产评估师").isVisible());
    await shot(page, `profile-complete-${width}`);
    await closePage(page);
  });
}
