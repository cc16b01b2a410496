// 非执业会员入会申请 end to end (seed 003): apply → local association returns →
// the applicant corrects and resubmits → local approval → CICPA confirmation →
// the progress query shows the credentials → first login forces a new password.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { CAPTCHA, PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, shots, startServer, zipOf } from "../lib.mjs";

let server, browser;
before(async () => {
  server = await startServer();
  browser = await launch();
  await makePhoto();
});
after(async () => {
  await browser?.close();
  server?.stop();
});

/** A valid resident ID (GB 11643) for a birth date and sequence. */
function residentId(area, birth, seq) {
  const first17 = `${area}${birth.replaceAll("-", "")}${String(seq).padStart(3, "0")}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * w[i], 0);
  return first17 + "10X98765432"[sum % 11];
}

// A real JPEG, drawn by Chromium itself: a passport-style photo placeholder.
const PHOTO = { name: "照片.jpg", mimeType: "image/jpeg", buffer: null };
async function makePhoto() {
  const page = await browser.newPage({ viewport: { width: 132, height: 176 } });
  await page.setContent(
    '<body style="margin:0;background:#3d7dd8;display:flex;align-items:flex-end;justify-content:center;height:176px">' +
      '<div style="width:90px;height:120px;border-radius:45px 45px 0 0;background:#f1d3b3"></div></body>',
  );
  PHOTO.buffer = await page.screenshot({ type: "jpeg", quality: 80 });
  await page.close();
}

async function fillApplication(page, a) {
  await page.getByLabel("姓名").fill(a.name);
  await page.getByLabel("性别").selectOption({ label: "女" });
  await page.getByLabel("证件号码").fill(a.id);
  await page.getByLabel("出生日期").fill(a.birth);
  await page.getByLabel("民族").fill("汉族");
  await page.getByLabel("政治面貌").selectOption({ label: "群众" });
  await page.getByLabel("所在地区").selectOption({ label: "浙江" });
  await page.getByLabel("联系电话").fill("13912345678");
  await page.getByLabel("电子邮件").fill("applicant@example.cn");
  await page.getByLabel("通讯地址").fill("杭州市西湖区文三路100号");
  await page.getByLabel("邮政编码").fill(a.postal);
  await page.getByLabel("职业状态").selectOption({ label: "在职" });
  await page.getByLabel("工作单位").fill("浙江某集团有限公司");
  await page.getByLabel("单位性质").selectOption({ label: "民营企业" });
  await page.getByLabel(/^学历/).selectOption({ label: "大学本科" });
  await page.getByLabel("毕业院校").fill("浙江财经大学");
  await page.getByLabel("资格取得方式").selectOption({ label: "考试" });
  await page.getByLabel("全科合格证号或考核批准文号").fill(a.cert);
  await page.getByLabel("全科合格年份").fill("2023");
  await page.getByLabel("税务师").check();
  await page.getByLabel("本人近期免冠证件照片").setInputFiles(PHOTO);
  for (const box of await page.locator('input[name="declaration"]').all()) await box.check();
}

async function progressByNumber(page, no) {
  await page.goto(`${server.url}/`);
  await page.getByRole("link", { name: "非执业申请进度查询", exact: true }).click();
  await page.getByRole("link", { name: /业务编号查询/ }).click();
  await page.getByLabel("业务编号").fill(no);
  await page.getByLabel(/^验证码/).fill(CAPTCHA);
  await page.getByRole("button", { name: "查询", exact: true }).click();
}

/** 基本信息查询: name, ID number, certificate number, the sum, the captcha. */
async function progressByInfo(page, a) {
  await page.goto(`${server.url}/member-admission/progress/info`);
  await page.getByLabel("您的姓名").fill(a.name);
  await page.getByLabel("您的证件号码").fill(a.id);
  await page.getByLabel("全科合格证号").fill(a.cert);
  const question = await page.locator('label[for="answer"]').textContent();
  const [x, y] = question.match(/(\d+) \+ (\d+)/).slice(1).map(Number);
  await page.getByLabel(/安全问答/).fill(String(x + y));
  await page.getByLabel(/^验证码/).fill(CAPTCHA);
  await page.getByRole("button", { name: "查询", exact: true }).click();
}

async function staffOpens(width, user, menu, no) {
  const page = await openPage(browser, width);
  await login(page, server.url, "中\\省\\市注协", user, PASSWORD);
  await page.waitForURL("**/home");
  await page.goto(`${server.url}/association/member-admissions`);
  await page.getByRole("heading", { name: menu }).waitFor();
  await page.getByRole("row", { name: new RegExp(no) }).getByRole("link", { name: "查看" }).click();
  await page.getByRole("heading", { name: "入会申请详情" }).waitFor();
  return page;
}

for (const [n, width] of WIDTHS.entries()) {
  test(`an applicant becomes a member, with a return on the way, at ${width}px`, async () => {
    const birth = "1990-03-07";
    const a = { name: n ? "周晓梅" : "林雨涵", id: residentId("330106", birth, 100 + n * 2), birth, cert: `QZ2333${String(700 + n).padStart(5, "0")}`, postal: "31001" };
    const page = await openPage(browser, width);

    // 阅读入会须知 → 填写验证信息
    await page.goto(`${server.url}/`);
    await page.getByRole("link", { name: "非执业会员申请", exact: true }).click();
    await page.getByRole("heading", { name: "入会须知" }).waitFor();
    await page.getByRole("button", { name: "下一步", exact: true }).click();
    await page.getByText("请阅读入会须知并勾选").waitFor();
    await shot(page, `admission-notice-${width}`);
    await page.getByLabel("我已阅读并接受入会须知").check();
    await page.getByRole("button", { name: "下一步", exact: true }).click();
    await page.getByRole("button", { name: "获取验证码", exact: true }).click();
    await page.getByLabel(/^验证码/).fill(CAPTCHA);
    await shot(page, `admission-verify-${width}`);
    await page.getByRole("button", { name: "验证", exact: true }).click();

    // 填写申请单: a photo over 2 MB is named beside the field before anything is sent.
    await fillApplication(page, a);
    await page.getByLabel("本人近期免冠证件照片").setInputFiles({ name: "大照片.jpg", mimeType: "image/jpeg", buffer: Buffer.concat([PHOTO.buffer, Buffer.alloc(2_500_000)]) });
    await page.getByText("照片不能超过2MB，请压缩或更换照片后重新选择").waitFor();
    assert.equal(await page.getByLabel("工作单位").inputValue(), "浙江某集团有限公司", "nothing typed is lost");
    await shot(page, `admission-photo-too-large-${width}`);
    await page.getByLabel("本人近期免冠证件照片").setInputFiles(PHOTO);
    // A bad postal code is named beside its field, nothing is saved.
    await page.getByRole("button", { name: "提交申请", exact: true }).click();
    await page.getByText("邮政编码应为6位数字").waitFor();
    await shot(page, `admission-form-error-${width}`);
    await page.getByLabel("邮政编码").fill("310012");
    await page.getByLabel("本人近期免冠证件照片").setInputFiles(PHOTO);
    await page.getByRole("button", { name: "提交申请", exact: true }).click();
    await page.getByRole("heading", { name: "申请提交成功" }).waitFor();
    const no = (await page.getByTestId("business-no").textContent()).trim();
    assert.match(no, /^\d{18}$/);
    await shot(page, `admission-submitted-${width}`);
    // 后退 to the form (the browser asks for its address again; pages are
    // never cached): the application was submitted, and here is its number.
    await page.goto(`${server.url}/member-admission/apply`);
    await page.getByTestId("already-submitted").waitFor();
    assert.equal((await page.getByTestId("business-no").textContent()).trim(), no);
    await shot(page, `admission-back-after-submit-${width}`);

    await progressByNumber(page, no);
    assert.equal(await page.getByTestId("state").textContent(), "地方注协待审核");
    await shot(page, `admission-progress-submitted-${width}`);

    // 浙江省注协 returns it with a reason.
    let staff = await staffOpens(width, "staff33", "入会申请审核", no);
    await shot(staff, `admission-review-detail-${width}`);
    await staff.getByRole("button", { name: "退回", exact: true }).click();
    await staff.getByText("请填写原因").waitFor();
    await staff.getByLabel("退回原因").fill("工作单位请填写全称");
    await staff.getByRole("button", { name: "退回", exact: true }).click();
    await staff.getByText("已办理：地方注协退回").waitFor();
    await shot(staff, `admission-returned-by-staff-${width}`);
    await closePage(staff);

    // The applicant finds the reason by basic information, corrects and resubmits.
    await progressByInfo(page, a);
    assert.equal(await page.getByTestId("state").textContent(), "地方注协退回");
    assert.equal(await page.getByTestId("return-reason").textContent(), "工作单位请填写全称");
    await shot(page, `admission-progress-returned-${width}`);
    // Another ID number: the message beside the field, still on the query.
    await page.getByLabel("请输入申请时填写的证件号码").fill(residentId("330106", birth, 300 + n));
    await page.getByRole("button", { name: "修改申请", exact: true }).click();
    await page.locator(".field-error").filter({ hasText: /证件号码/ }).waitFor();
    await shot(page, `admission-edit-wrong-id-${width}`);
    await page.getByLabel("请输入申请时填写的证件号码").fill(a.id);
    await page.getByRole("button", { name: "修改申请", exact: true }).click();
    await page.getByText("退回原因：工作单位请填写全称").waitFor();
    await page.getByLabel("工作单位").fill("浙江某集团有限公司杭州分公司");
    await page.getByRole("button", { name: "再次提交", exact: true }).click();
    await page.getByRole("heading", { name: "申请提交成功" }).waitFor();
    assert.equal((await page.getByTestId("business-no").textContent()).trim(), no, "the same business number");

    // 通过, then 中注协 确认.
    staff = await staffOpens(width, "staff33", "入会申请审核", no);
    assert.ok(await staff.getByText("浙江某集团有限公司杭州分公司").isVisible());
    await staff.getByRole("button", { name: "通过", exact: true }).click();
    await staff.getByText("已办理：地方注协审核通过").waitFor();
    await closePage(staff);
    await progressByNumber(page, no);
    assert.equal(await page.getByTestId("state").textContent(), "地方注协审核通过待中注协确认");
    // CICPA imports the exam system's photo of this applicant (a ZIP named by
    // 全科合格证号, checked and previewed first): it becomes the default.
    const importer = await openPage(browser, width);
    await login(importer, server.url, "中\\省\\市注协", "staffcicpa", PASSWORD);
    await importer.waitForURL("**/home");
    await importer.goto(`${server.url}/association/exam-photos`);
    await importer.getByRole("heading", { name: "全科合格证电子照片" }).waitFor();
    const zip = zipOf([{ name: `${a.cert}.jpg`, buffer: PHOTO.buffer }, { name: "名单.xlsx", buffer: Buffer.from("x") }]);
    await importer.getByLabel(/^ZIP压缩包/).setInputFiles({ name: "照片.zip", mimeType: "application/zip", buffer: zip });
    await importer.getByRole("button", { name: "上传并校验" }).click();
    await importer.getByTestId("photo-summary").waitFor();
    assert.match(await importer.getByTestId("photo-summary").textContent(), /可导入 1 张/);
    await importer.getByRole("cell", { name: "名单.xlsx" }).waitFor();
    await shot(importer, `exam-photos-preview-${width}`);
    await importer.getByRole("button", { name: "确认导入" }).click();
    await importer.getByTestId("photos-imported").waitFor();
    await shot(importer, `exam-photos-imported-${width}`);
    await closePage(importer);

    const cicpa = await staffOpens(width, "staffcicpa", "入会申请确认", no);
    await shot(cicpa, `admission-cicpa-detail-${width}`);
    // The approval document is asked for: without it nothing is confirmed.
    await cicpa.getByRole("button", { name: "确认", exact: true }).click();
    await cicpa.getByText("请填写会员批准文件号").waitFor();
    await cicpa.getByLabel("会员批准文件号").fill("会协〔2026〕12号");
    await cicpa.getByLabel("会员批准日期").fill("2026-03-02");
    await cicpa.getByRole("button", { name: "确认", exact: true }).click();
    await cicpa.getByText("已办理：中注协审核通过").waitFor();
    await closePage(cicpa);

    // By the business number alone, the initial password is not shown; the
    // query by basic information shows 会员编号, 登录名 and 初始密码.
    await progressByNumber(page, no);
    assert.equal(await page.getByTestId("state").textContent(), "中注协审核通过");
    assert.equal(await page.getByTestId("initial-password").count(), 0);
    await page.getByText("初始密码仅在").waitFor();
    await shot(page, `admission-progress-by-number-confirmed-${width}`);
    await progressByInfo(page, a);
    assert.equal(await page.getByTestId("state").textContent(), "中注协审核通过");
    const loginName = (await page.getByTestId("login-name").textContent()).trim();
    const initial = (await page.getByTestId("initial-password").textContent()).trim();
    assert.match(loginName, /^33\d{9}$/);
    assert.equal((await page.getByTestId("approval-doc").textContent()).trim(), "会协〔2026〕12号");
    await shot(page, `admission-progress-confirmed-${width}`);

    // First login: a new password first.
    await login(page, server.url, "非执业会员", loginName, initial);
    await page.waitForURL("**/account/password");
    await page.getByLabel("原密码").fill(initial);
    await page.getByLabel("新密码").fill("Member2026");
    await page.getByLabel("确认密码").fill("Member2026");
    await page.getByRole("button", { name: "确认", exact: true }).click();
    await page.getByText("密码已修改，请使用新密码登录").waitFor();
    await login(page, server.url, "非执业会员", loginName, "Member2026");
    await page.waitForURL("**/home");
    assert.ok(await page.getByText(loginName).first().isVisible());
    // 下载会员证: confirm the photo, the profile is complete, download the PDF.
    await page.goto(`${server.url}/certificate`);
    await page.getByRole("link", { name: "信息确认并下载会员证" }).click();
    await page.getByText("是否使用全科合格证电子照片？").waitFor();
    await shot(page, `certificate-confirm-${width}`);
    await page.getByRole("link", { name: "是", exact: true }).click();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("main").getByRole("link", { name: "下载会员证", exact: true }).click()]);
    const pdf = path.join(shots, `certificate-${width}.pdf`);
    await download.saveAs(pdf);
    execFileSync("pdftoppm", ["-png", "-r", "60", "-singlefile", pdf, path.join(shots, `certificate-${width}`)]);

    await progressByInfo(page, a);
    assert.equal(await page.getByTestId("initial-password").count(), 0, "no longer shown after the first login");
    await closePage(page);
  });
}
