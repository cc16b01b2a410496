// Every role logs in from the portal and sees its home, at phone and PC width.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser, logins;

before(async () => {
  server = await startServer();
  browser = await launch();
  logins = {
    member: server.accounts("member", 1)[0],
    cpa: server.accounts("cpa", 1)[0],
    firm: server.accounts("firm", 1)[0],
  };
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const STAFF = "中\\省\\市注协";
const roles = [
  { key: "member", type: "非执业会员", user: () => logins.member, marker: "会员证书编号" },
  { key: "cpa", type: "注册会计师", user: () => logins.cpa, marker: "注册会计师证书编号" },
  { key: "firm", type: "会计师事务所", user: () => logins.firm, marker: "事务所编号" },
  { key: "staff-national", type: STAFF, user: () => "staffcicpa", marker: "中国注册会计师协会（中注协）" },
  { key: "staff-provincial", type: STAFF, user: () => "staff44", marker: "广东省注册会计师协会（省注协）" },
  { key: "staff-city", type: STAFF, user: () => "staff4401", marker: "广州市注册会计师协会（市注协）" },
];

for (const width of WIDTHS) {
  test(`portal at ${width}px`, async () => {
    const page = await openPage(browser, width);
    await page.goto(`${server.url}/`);
    await page.getByRole("heading", { name: "用户登录" }).waitFor();
    // The captcha is drawn when the login form is first used.
    assert.equal(await page.getByAltText("验证码图片").count(), 0);
    await page.getByLabel("用户名称").click();
    await page.getByAltText("验证码图片").waitFor();
    await shot(page, `portal-${width}`);
    await page.getByRole("link", { name: "各地方注协联系方式" }).click();
    await page.getByRole("heading", { name: "联系方式" }).waitFor();
    assert.ok(await page.getByText("深圳市注册会计师协会").isVisible());
    await shot(page, `contacts-${width}`);
    await closePage(page);
  });

  for (const role of roles) {
    test(`${role.key} logs in at ${width}px`, async () => {
      const page = await openPage(browser, width);
      await login(page, server.url, role.type, role.user(), PASSWORD);
      await page.waitForURL("**/home");
      await page.getByRole("heading", { name: "首页", level: 1 }).waitFor();
      assert.ok(await page.getByText(role.marker).first().isVisible(), `${role.marker} shown`);
      const menu = page.getByRole("navigation", { name: "功能菜单" });
      const tabs = page.getByRole("navigation", { name: "底部导航" });
      if (width < 800) {
        assert.ok(await tabs.isVisible(), "phone shows the bottom tabs");
        assert.ok(!(await menu.isVisible()), "phone hides the left menu");
        await shot(page, `home-${role.key}-${width}`);
        await tabs.getByRole("link", { name: "我的" }).click();
        await page.getByRole("heading", { name: "我的" }).waitFor();
        await shot(page, `me-${role.key}-${width}`);
        await page.getByRole("button", { name: "退出登录" }).click();
      } else {
        assert.ok(await menu.isVisible(), "PC shows the left menu");
        assert.ok(!(await tabs.isVisible()), "PC hides the bottom tabs");
        await shot(page, `home-${role.key}-${width}`);
        await menu.getByRole("link", { name: "消息列表" }).click();
        await page.getByText("暂无消息").waitFor();
        await page.getByRole("button", { name: "退出" }).click();
      }
      await page.getByRole("heading", { name: "用户登录" }).waitFor();
      await closePage(page);
    });
  }
}
