// 常见问题 on the portal: CICPA staff publish an entry and the public reads it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

for (const width of WIDTHS) {
  test(`CICPA publishes a 常见问题 entry and the portal shows it, at ${width}px`, async () => {
    const title = `年检缴费如何确认（${width}）`;
    const staff = await openPage(browser, width);
    await login(staff, server.url, "中\\省\\市注协", "staffcicpa", PASSWORD);
    await staff.waitForURL("**/home");
    await staff.goto(`${server.url}/association/notices`);
    await staff.getByRole("link", { name: "新增" }).click();
    await staff.getByRole("button", { name: "发布", exact: true }).click();
    await staff.getByText("请填写标题").waitFor();
    await staff.getByLabel("栏目").selectOption({ label: "常见问题" });
    await staff.getByLabel("标题").fill(title);
    await staff.getByLabel("正文").fill("完成缴费后，在年检申请页面点击“确认已缴费”，待省注协确认后即可继续申请。");
    await shot(staff, `notices-edit-${width}`);
    await staff.getByRole("button", { name: "发布", exact: true }).click();
    await staff.getByRole("cell", { name: title }).waitFor();
    await shot(staff, `notices-manage-${width}`);
    await closePage(staff);

    const page = await openPage(browser, width);
    await page.goto(`${server.url}/`);
    await page.getByRole("link", { name: title }).click();
    await page.getByRole("heading", { name: title }).waitFor();
    assert.ok(await page.getByText("确认已缴费").isVisible());
    await shot(page, `notices-public-${width}`);
    await closePage(page);
  });
}
