// 忘记密码, each way (seed 000 appendix): the registered mobile and an SMS code;
// other information (name, full ID number, exam certificate); and, once bound
// by the first reset, a code sent to the bound notification account. Codes
// are read from the development outbox page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { CAPTCHA, PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser, members;
before(async () => {
  server = await startServer();
  browser = await launch();
  members = server.accounts("member", 6);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

/** What the member's own 修改信息 page shows in full. */
async function ownDetails(width, member) {
  const page = await openPage(browser, width);
  await login(page, server.url, "非执业会员", member, PASSWORD);
  await page.waitForURL("**/home");
  await page.goto(`${server.url}/profile/edit`);
  const v = async (id) => (await page.locator(`#${id}`).inputValue()).trim();
  const d = { name: await v("f-name"), id: await v("f-id_number"), mobile: await v("f-mobile"), cert: await v("f-exam_cert_no") };
  await closePage(page);
  return d;
}

async function latestCode(page) {
  const outbox = await page.context().newPage();
  await outbox.goto(`${server.url}/dev/outbox`);
  const text = await outbox.locator("tbody tr").first().textContent();
  await outbox.close();
  return { text, code: text.match(/验证码(\d{6})/)[1] };
}

async function startRecovery(page, member, screenshot) {
  await page.goto(`${server.url}/`);
  await page.getByRole("link", { name: "忘记密码", exact: true }).click();
  await page.getByLabel("用户类型").selectOption({ label: "非执业会员" });
  await page.getByLabel("账号").fill(member);
  await page.getByLabel(/^验证码/).fill(CAPTCHA);
  if (screenshot) await shot(page, screenshot);
  await page.getByRole("button", { name: "下一步", exact: true }).click();
}

async function setNewPassword(page, password) {
  await page.getByLabel("新密码").fill(password);
  await page.getByLabel("确认密码").fill(password);
  await page.getByRole("button", { name: "确认重置", exact: true }).click();
  await page.getByRole("heading", { name: "密码重置成功" }).waitFor();
}

for (const [n, width] of WIDTHS.entries()) {
  test(`by the registered mobile number at ${width}px`, async () => {
    const member = members[n * 3];
    const me = await ownDetails(width, member);
    const page = await openPage(browser, width);
    await startRecovery(page, member, `recovery-account-${width}`);
    // Not bound: the account's QR code beside the other ways, and the last resort.
    await page.getByRole("img", { name: "中国注册会计师协会行业管理信息系统公众号二维码" }).waitFor();
    await page.getByText("仍然无法找回，可致电中注协技术部 010-88250337、010-88250338").waitFor();
    await shot(page, `recovery-verify-${width}`);
    await page.getByLabel("完整的登记手机号码").fill("13000000000");
    await page.getByRole("button", { name: "获取验证码", exact: true }).click();
    await page.getByText("手机号码与登记的不一致").waitFor();
    await page.getByLabel("完整的登记手机号码").fill(me.mobile);
    await page.getByRole("button", { name: "获取验证码", exact: true }).click();
    await page.getByText(/验证码已发送至手机/).waitFor();
    const { text, code } = await latestCode(page);
    assert.ok(text.includes(me.mobile), "sent to the registered mobile");
    await page.getByLabel("短信或公众号收到的验证码").fill(code);
    await shot(page, `recovery-code-${width}`);
    await page.getByRole("button", { name: "下一步", exact: true }).click();
    await setNewPassword(page, "Mobile2026x");
    assert.ok(await page.getByText("完成绑定").isVisible());
    await shot(page, `recovery-done-${width}`);
    await login(page, server.url, "非执业会员", member, "Mobile2026x");
    await page.waitForURL("**/home");
    await closePage(page);
  });

  test(`by other information, then by the bound account, at ${width}px`, async () => {
    const member = members[n * 3 + 1];
    const me = await ownDetails(width, member);
    const page = await openPage(browser, width);
    await startRecovery(page, member);
    await page.getByLabel("姓名").fill(me.name);
    await page.getByLabel("完整的证件号码").fill(me.id);
    await page.getByLabel("辅助证明材料类型").selectOption({ label: "全科合格证号/考核批准文号" });
    await page.getByLabel("辅助证明材料内容").fill("QZ000000000");
    await page.getByRole("button", { name: "验证", exact: true }).click();
    await page.getByText("填写的信息与登记信息不一致，请核对").waitFor();
    await shot(page, `recovery-other-error-${width}`);
    await page.getByLabel("姓名").fill(me.name);
    await page.getByLabel("完整的证件号码").fill(me.id);
    await page.getByLabel("辅助证明材料类型").selectOption({ label: "全科合格证号/考核批准文号" });
    await page.getByLabel("辅助证明材料内容").fill(me.cert);
    await page.getByRole("button", { name: "验证", exact: true }).click();
    await setNewPassword(page, "Other2026xy");

    // Bound now: the next recovery sends the code to the notification account.
    await startRecovery(page, member);
    await page.getByRole("heading", { name: "公众号接收验证码" }).waitFor();
    await page.getByRole("button", { name: "发送验证码", exact: true }).click();
    await page.getByText("验证码已发送至您绑定的公众号").waitFor();
    await shot(page, `recovery-bound-${width}`);
    const { text, code } = await latestCode(page);
    assert.match(text, /公众号/);
    await page.getByLabel("短信或公众号收到的验证码").fill(code);
    await page.getByRole("button", { name: "下一步", exact: true }).click();
    await setNewPassword(page, "Bound2026xy");
    assert.equal(await page.getByText("完成绑定").count(), 0, "already bound");
    await login(page, server.url, "非执业会员", member, "Bound2026xy");
    await page.waitForURL("**/home");
    await closePage(page);
  });
}
