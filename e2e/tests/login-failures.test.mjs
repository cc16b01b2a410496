// What goes wrong at login: a wrong password, a wrong captcha, a lockout,
// and the forced change of an initial password.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser, members;

before(async () => {
  server = await startServer();
  browser = await launch();
  members = server.accounts("member", 10);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const widths = [
  [390, 0],
  [1366, 1],
];

for (const [width, n] of widths) {
  test(`a wrong password says how many tries are left, at ${width}px`, async () => {
    const page = await openPage(browser, width);
    await login(page, server.url, "非执业会员", members[n], "Wrong12345");
    await page.getByText("用户名或密码错误，还可尝试4次").waitFor();
    assert.equal(await page.getByLabel("用户名称").inputValue(), members[n], "the user name is kept");
    await shot(page, `wrong-password-${width}`);
    await closePage(page);
  });

  test(`a wrong captcha is refused beside the field, at ${width}px`, async () => {
    const page = await openPage(browser, width);
    await login(page, server.url, "非执业会员", members[n], PASSWORD, "0000");
    await page.getByText("验证码错误或已过期，请刷新后重新输入").waitFor();
    // Refreshing the image gives a new captcha.
    const before = await page.locator('input[name="captcha_id"]').inputValue();
    await page.getByAltText("验证码图片").click();
    await page.waitForFunction((b) => document.querySelector('input[name="captcha_id"]').value !== b, before);
    await shot(page, `wrong-captcha-${width}`);
    await closePage(page);
  });

  test(`five wrong passwords lock the account, at ${width}px`, async () => {
    const page = await openPage(browser, width);
    const user = members[2 + n];
    for (let i = 0; i < 5; i++) await login(page, server.url, "非执业会员", user, "Wrong12345");
    await page.getByText("该账户已被临时锁定15分钟").waitFor();
    await login(page, server.url, "非执业会员", user, PASSWORD);
    await page.getByText("登录失败次数过多，该账户已被临时锁定").waitFor();
    assert.ok(!page.url().endsWith("/home"));
    await shot(page, `lockout-${width}`);
    await closePage(page);
  });

  test(`an initial password must be changed at first login, at ${width}px`, async () => {
    const user = members[4 + n];
    const initial = server.cli("initial-password", "--type", "member", "--login", user).trim();
    const page = await openPage(browser, width);
    await login(page, server.url, "非执业会员", user, initial);
    await page.waitForURL("**/account/password");
    await page.getByText("您正在使用初始密码").waitFor();
    await shot(page, `forced-change-${width}`);
    await page.getByLabel("原密码").fill(initial);
    await page.getByLabel("新密码").fill("abc");
    await page.getByLabel("确认密码").fill("abc");
    await page.getByRole("button", { name: "确认" }).click();
    await page.getByText("密码长度应为8至32位").waitFor();
    await shot(page, `forced-change-error-${width}`);
    await page.getByLabel("原密码").fill(initial);
    await page.getByLabel("新密码").fill("Renewed2026");
    await page.getByLabel("确认密码").fill("Renewed2026");
    await page.getByRole("button", { name: "确认" }).click();
    await page.getByText("密码已修改，请使用新密码登录").waitFor();
    await login(page, server.url, "非执业会员", user, "Renewed2026");
    await page.waitForURL("**/home");
    await closePage(page);
  });
}
