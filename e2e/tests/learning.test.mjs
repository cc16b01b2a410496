// 在线学习 (seed 004 chapters 1–2), by the labels: 北京国家会计学院's staff
// publish a course with a video (课程管理 → 新增课程 → 上传课时 → 发布); a CPA
// chooses 北京国家会计学院 (每年只能选择一家会计学院进行学习，当年不可更改),
// cannot open an elective before the required course, watches the lesson,
// is told the hours wait for 评价, evaluates, and after the next day's
// crediting (学时入账) sees the hours in 学时查询; a non-practicing member
// pays for a course (交费) before studying it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  PASSWORD,
  WIDTHS,
  closePage,
  confirmDialog,
  launch,
  login,
  openPage,
  recordVideo,
  shot,
  startServer,
  submitBy,
  waitText,
  watchLesson,
} from "../lib.mjs";

let server, browser, video;
const NEXT_DAY = "2026-06-16T09:00:00+08:00";

/** As the institute's staff: a course with one lesson of the test video, published. */
async function publish(page, { title, kind, audience, category, fee }) {
  await page.goto(`${server.url}/institute/courses`);
  await page.getByLabel("课程名称").fill(title);
  await page.getByLabel("课程类型").selectOption({ label: kind });
  await page.getByLabel("适用对象").selectOption({ label: audience });
  await page.getByLabel("课程类别").selectOption({ label: category });
  await page.getByLabel("学习形式").selectOption({ label: "网络" });
  await page.getByLabel("费用（元，非执业会员交纳）").fill(fee);
  await submitBy(page, page.getByRole("button", { name: "新增课程" }));
  await waitText(page, "添加课时");
  await page.getByLabel("课时名称").fill("第一讲");
  await page.getByLabel("学时").fill("1");
  await page.getByLabel("时长（分:秒）").fill("0:03");
  await page.getByLabel("视频或文档").setInputFiles({ name: "第一讲.webm", mimeType: "video/webm", buffer: video });
  await submitBy(page, page.getByRole("button", { name: "上传课时" }));
  await waitText(page, "第一讲.webm");
  await page.getByRole("button", { name: "发布" }).click();
  await confirmDialog(page);
  await page.getByTestId("course-state").filter({ hasText: "已发布" }).waitFor();
}

before(async () => {
  server = await startServer({ members: 4, firms: 2 });
  browser = await launch();
  video = await recordVideo(browser);
  assert.ok(video.length > 1000, `a recorded video: ${video.length} bytes`);
  const page = await openPage(browser, 1366);
  await login(page, server.url, "国家会计学院", "bnaistaff", PASSWORD);
  await publish(page, { title: "职业道德与执业规范", kind: "必修", audience: "执业会员和非执业会员", category: "职业道德", fee: "0" });
  await shot(page, "learning-institute-course-1366");
  await publish(page, { title: "审计数据分析", kind: "选修", audience: "执业会员和非执业会员", category: "专业", fee: "80" });
  await page.goto(`${server.url}/institute/courses`);
  await shot(page, "learning-institute-courses-1366");
  await closePage(page);
});

after(async () => {
  await browser?.close();
  server?.stop();
});

for (const [i, width] of WIDTHS.entries()) {
  test(`a CPA chooses 北京国家会计学院, studies the required course first, evaluates, and sees the hours the next day (${width})`, async () => {
    const cpa = server.accounts("cpa", 4)[i];
    const page = await openPage(browser, width);
    await login(page, server.url, "注册会计师", cpa, PASSWORD);
    await page.goto(`${server.url}/learning`);
    await page.getByTestId("choose-warning").filter({ hasText: "每年只能选择一家会计学院进行学习，当年不可更改。" }).waitFor();
    await shot(page, `learning-choose-${width}`);
    await page.getByRole("button", { name: "选择北京国家会计学院" }).click();
    await confirmDialog(page);
    await page.getByTestId("chosen").filter({ hasText: "北京国家会计学院" }).waitFor();
    // The choice stands: no more choosing this year.
    assert.equal(await page.getByRole("button", { name: "选择上海国家会计学院" }).count(), 0);
    await page.getByTestId("locked").first().waitFor();
    await shot(page, `learning-catalogue-${width}`);

    await page.getByRole("link", { name: "开始学习" }).first().click();
    await page.getByRole("link", { name: "开始学习" }).first().click();
    await watchLesson(page);
    await waitText(page, "未进行评价的学时数将暂时不记录在系统");
    await shot(page, `learning-evaluate-${width}`);
    await page.getByLabel("5星").check();
    await page.getByLabel("评价内容").fill("案例清楚，受益匪浅");
    await submitBy(page, page.getByRole("button", { name: "提交评价" }));
    await page.getByTestId("evaluated").waitFor();
    // Today's evaluation is credited by the next day's run.
    await page.goto(`${server.url}/learning/hours`);
    assert.equal(await page.getByTestId("hours-total").innerText(), "0.00");
    server.cli("credit-learning", "--e2e-clock", NEXT_DAY);
    await page.reload();
    assert.equal(await page.getByTestId("hours-total").innerText(), "1.00");
    await waitText(page, "北京国家会计学院");
    await shot(page, `learning-hours-${width}`);
    // The elective is open now.
    await page.goto(`${server.url}/learning`);
    assert.equal(await page.getByTestId("locked").count(), 0);
    await closePage(page);
  });
}

test("a non-practicing member pays for a course before studying it (390)", async () => {
  const member = server.accounts("member", 2)[0];
  const page = await openPage(browser, 390);
  await login(page, server.url, "非执业会员", member, PASSWORD);
  await page.getByRole("link", { name: "在线学习" }).first().click();
  await page.getByRole("button", { name: "选择北京国家会计学院" }).click();
  await confirmDialog(page);
  await page.getByRole("link", { name: "开始学习" }).first().click();
  await page.getByRole("link", { name: "开始学习" }).first().click();
  await watchLesson(page);
  await page.getByLabel("4星").check();
  await submitBy(page, page.getByRole("button", { name: "提交评价" }));
  await page.getByTestId("evaluated").waitFor();
  // The elective has a fee: 开始学习 opens 交费.
  await page.goto(`${server.url}/learning`);
  await page.getByText("未交费").waitFor();
  await page.getByRole("link", { name: "开始学习" }).first().click();
  await waitText(page, "本课程需交费80.00元");
  await page.getByRole("link", { name: "开始学习" }).first().click();
  await page.getByTestId("course-fee").filter({ hasText: "80.00" }).waitFor();
  // Back from the cashier without paying: the page says the result has not come.
  await page.getByRole("link", { name: "我已完成支付，开始学习" }).click();
  await page.getByTestId("pay-waiting").waitFor();
  await shot(page, "learning-pay-390");
  const cashier = await openPage(browser, 390);
  await cashier.goto(await page.getByTestId("pay-link").getAttribute("href"));
  await cashier.getByRole("button", { name: "确认支付" }).click();
  await cashier.getByText("支付成功").waitFor();
  await closePage(cashier);
  await page.getByRole("link", { name: "我已完成支付，开始学习" }).click();
  await page.getByRole("link", { name: "开始学习" }).first().waitFor();
  await shot(page, "learning-paid-course-390");
  await closePage(page);
});
