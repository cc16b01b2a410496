// A member without a usable photo brings one to the association; staff upload
// and approve it; the member's 下载会员证 then uses it and sends them to complete
// their 基本信息 first.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer } from "../lib.mjs";

let server, browser, photo;
before(async () => {
  server = await startServer();
  browser = await launch();
  const p = await browser.newPage({ viewport: { width: 132, height: 176 } });
  await p.setContent('<body style="margin:0;background:#5a8fd8"><div style="margin:40px auto 0;width:80px;height:136px;border-radius:40px 40px 0 0;background:#eac7a4"></div></body>');
  photo = await p.screenshot({ type: "jpeg" });
  await p.close();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

for (const [n, width] of WIDTHS.entries()) {
  test(`the association approves a member's photo, at ${width}px`, async () => {
    // The first demo members belong to Guangdong.
    const member = server.accounts("member", 40).filter((m) => m.startsWith("44"))[n];
    const page = await openPage(browser, width);
    await login(page, server.url, "非执业会员", member, PASSWORD);
    await page.waitForURL("**/home");
    await page.goto(`${server.url}/certificate`);
    await page.getByRole("link", { name: "信息确认并下载会员证" }).click();
    await page.getByText("未获取到您的全科合格证电子照片").waitFor();
    await shot(page, `certificate-no-photo-${width}`);

    const staff = await openPage(browser, width);
    await login(staff, server.url, "中\\省\\市注协", "staff44", PASSWORD);
    await staff.waitForURL("**/home");
    await staff.goto(`${server.url}/association/member-photo`);
    await staff.getByLabel("会员证书编号").fill(member);
    await staff.getByRole("button", { name: "查询", exact: true }).click();
    await staff.getByLabel("新照片").setInputFiles({ name: "photo.jpg", mimeType: "image/jpeg", buffer: photo });
    await staff.getByRole("button", { name: "上传并审核通过", exact: true }).click();
    await staff.getByText("照片已审核通过，并已通知会员。").waitFor();
    assert.ok(await staff.getByAltText("当前照片").isVisible());
    await shot(staff, `member-photo-approved-${width}`);
    await closePage(staff);

    await page.goto(`${server.url}/certificate`);
    // The photo is named for what it is (not 全科合格证电子照片).
    assert.ok(await page.getByAltText("所属地方注协审核通过的电子照片").isVisible());
    await page.getByRole("link", { name: "信息确认并下载会员证" }).click();
    await page.getByText("是否使用所属地方注协审核通过的电子照片？").waitFor();
    await page.getByRole("link", { name: "是", exact: true }).click();
    await page.getByText("请将基础信息中的必填信息补充完整").waitFor();
    await shot(page, `certificate-missing-${width}`);
    await page.getByRole("link", { name: "确定", exact: true }).click();
    await page.waitForURL("**/profile");
    await closePage(page);
  });
}
