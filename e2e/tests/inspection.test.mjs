// 非执业会员年检 by the seed's labels: 完善信息, blocked short of hours, the
// association enters hours, 去支付 through the payment provider, 确认申请, a
// return and 再次申请, batch 通过, history with the trail, the QR code and the
// public page it opens. Then a deferral and its return, and a fee 待确认 until
// the association confirms it.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PASSWORD, WIDTHS, closePage, launch, login, openPage, shot, startServer, submitBy, waitText } from "../lib.mjs";

let server, browser, members;
before(async () => {
  server = await startServer();
  browser = await launch();
  // The first twenty demo members have no inspection data.
  members = server.accounts("member", 20);
});
after(async () => {
  await browser?.close();
  server?.stop();
});

const phone = (page) => page.viewportSize().width < 800;

/** Opens a function the way a user does: the home tiles on a phone, the left menu on a PC. */
async function open(page, tile, menu) {
  await page.goto(`${server.url}/home`);
  if (phone(page) && tile) {
    await page.getByRole("navigation", { name: "常用功能" }).getByRole("link", { name: tile }).click();
  } else {
    await page.getByRole("navigation", { name: "功能菜单" }).getByRole("link", { name: menu, exact: true }).click();
  }
}

async function completeProfile(page) {
  await page.getByRole("heading", { name: /完善信息/ }).waitFor();
  await page.getByLabel("民族").fill("汉族");
  await page.getByLabel("政治面貌").selectOption({ label: "中共党员" });
  await page.getByLabel("通讯地址").fill("广州市天河区体育西路191号");
  await page.getByLabel("邮政编码").fill("510620");
  await page.getByLabel("职业状态").selectOption({ label: "在职" });
  await page.getByLabel("单位性质").selectOption({ label: "国有企业" });
  await page.getByLabel(/^学历/).selectOption({ label: "硕士研究生" });
  await page.getByLabel("毕业院校").fill("中山大学");
  await page.getByLabel("全科合格年份").fill("2012");
}

async function staffLogin(width, member) {
  const staff = await openPage(browser, width);
  await login(staff, server.url, "中\\省\\市注协", `staff${member.slice(0, 2)}`, PASSWORD);
  await staff.waitForURL("**/home");
  return staff;
}

async function addHours(staff, member, hours) {
  await open(staff, "学时记录", "学时记录");
  await staff.getByLabel("会员编号").fill(member);
  await staff.getByRole("button", { name: "查询", exact: true }).click();
  await staff.getByLabel("类型").selectOption({ label: "学时记录" });
  await staff.getByLabel(/^年度/).fill("2025");
  await staff.getByLabel(/^学时/).fill(hours);
  await staff.getByLabel(/^类别/).selectOption({ label: "专业" });
  await staff.getByLabel(/^内容/).fill("企业会计准则专题");
  await staff.getByRole("button", { name: "保存", exact: true }).click();
  await staff.getByText("已保存").waitFor();
}

async function confirmDialog(page, text) {
  const dialog = page.getByRole("dialog");
  await dialog.getByText(text).waitFor();
  await shot(page, `inspection-confirm-dialog-${page.viewportSize().width}`);
  await dialog.getByRole("button", { name: "确定" }).click();
}

async function openRow(staff, member) {
  await open(staff, "年检审核", "年检审核");
  await staff.getByRole("row", { name: new RegExp(member) }).getByRole("link", { name: "查看" }).click();
}

/** A member logs in, completes the profile and reaches the 暂缓 reason step past the commitment. */
async function deferralReason(width, member) {
  const page = await openPage(browser, width);
  await login(page, server.url, "非执业会员", member, PASSWORD);
  await page.waitForURL("**/home");
  await page.goto(`${server.url}/member-inspection/profile`);
  await completeProfile(page);
  await page.getByRole("button", { name: "暂缓年检申请", exact: true }).click();
  await page.getByRole("heading", { name: "2025年度暂缓年检申请" }).waitFor();
  await page.getByLabel("本人已阅读并同意以上承诺").check();
  await page.getByRole("button", { name: "确认", exact: true }).click();
  return page;
}

for (const [n, width] of WIDTHS.entries()) {
  test(`a member pays, applies, is returned, applies again and passes, at ${width}px`, async () => {
    const member = members[n];
    const page = await openPage(browser, width);
    await login(page, server.url, "非执业会员", member, PASSWORD);
    await page.waitForURL("**/home");
    if (phone(page)) {
      await open(page, "年检申请", null);
    } else {
      await open(page, null, "非执业会员年检申请");
      await page.getByText("暂无年检记录").waitFor();
      await page.getByRole("link", { name: "新建申请" }).click();
    }
    await page.getByText("请先完善个人信息").waitFor();
    await shot(page, `inspection-profile-${width}`);
    await completeProfile(page);
    await page.getByRole("button", { name: "年检申请", exact: true }).click();

    // Short of hours: blocked, with the number.
    await page.getByRole("heading", { name: "2025年度年检申请" }).waitFor();
    const required = (await page.locator('td[data-label="累计应完成学时"]').textContent()).trim();
    assert.match(await page.getByTestId("blockers").textContent(), new RegExp(`还需完成${required}学时`));
    assert.ok(await page.getByRole("button", { name: "确认", exact: true }).isDisabled());
    await shot(page, `inspection-short-of-hours-${width}`);

    const staff = await staffLogin(width, member);
    await addHours(staff, member, "40");

    await page.reload();
    assert.equal((await page.locator('td[data-label="累计已完成学时"]').textContent()).trim(), "40.00");
    await page.getByLabel("本人已阅读并同意以上承诺").check();
    await page.getByRole("button", { name: "确认", exact: true }).click();
    assert.equal((await page.getByTestId("fee-status-2").textContent()).trim(), "去支付");
    await page.getByRole("region", { name: "缴费" }).getByRole("link", { name: "去支付" }).click();
    await page.getByTestId("pay-qr").locator("svg").waitFor();
    await shot(page, `inspection-pay-qr-${width}`);

    // The payer scans the code: the provider's cashier, which notifies us.
    const cashier = await openPage(browser, width);
    await cashier.goto(await page.getByTestId("pay-link").getAttribute("href"));
    await cashier.getByText("100.00").waitFor();
    await cashier.getByRole("button", { name: "确认支付" }).click();
    await cashier.getByText("支付成功").waitFor();
    await shot(cashier, `inspection-cashier-${width}`);
    await closePage(cashier);

    await page.getByRole("button", { name: "确认已缴费" }).click();
    await page.getByText("会费已确认。").waitFor();
    assert.equal((await page.getByTestId("fee-status-2").textContent()).trim(), "已确认");
    await page.getByRole("button", { name: "确认申请" }).click();
    await confirmDialog(page, "确认要申请2025年度年检吗");
    await page.getByRole("heading", { name: "申请成功，请明年按时参加年检。" }).waitFor();
    assert.ok(await page.getByTestId("success-notice").isVisible());
    await shot(page, `inspection-success-${width}`);

    // The association returns it, naming what to change.
    await openRow(staff, member);
    await staff.getByText("地方注协待审核").first().waitFor();
    await shot(staff, `inspection-review-${width}`);
    await staff.getByLabel(/^退回原因/).fill("通讯地址请填写到门牌号");
    await staff.getByText("指明需修改的信息或材料（可选）").first().click();
    await staff.getByLabel("通讯地址", { exact: true }).first().check();
    await submitBy(staff, staff.getByRole("button", { name: "退回", exact: true }));
    await waitText(staff, "已办理：退回");

    // The member sees it: the tile (phone) or the bell, the message, 再次申请.
    await page.goto(`${server.url}/home`);
    if (phone(page)) assert.ok(await page.getByTestId("returned-flag").isVisible());
    // 🔔 opens the latest messages, and 【更多】 the list (seed 000 §2.1.5).
    await page.getByLabel(/消息，未读/).click();
    await page.getByRole("region", { name: "最新消息" }).getByRole("link", { name: /年检/ }).first().waitFor();
    await shot(page, `inspection-bell-preview-${width}`);
    await page.getByRole("link", { name: "【更多】" }).click();
    await page.getByRole("heading", { name: "消息列表" }).waitFor();
    await page.getByRole("link", { name: "查看详情" }).first().click();
    await page.getByText(/通讯地址请填写到门牌号/).first().waitFor();
    await shot(page, `inspection-return-message-${width}`);
    if (phone(page)) {
      await open(page, "年检申请", null);
    } else {
      await open(page, null, "非执业会员年检申请");
    }
    await page.getByRole("link", { name: "再次申请" }).click();
    // What the return named must change: the same address is refused, with the reason.
    await page.getByRole("button", { name: "年检申请", exact: true }).click();
    await page.getByLabel("本人已阅读并同意以上承诺").check();
    await page.getByRole("button", { name: "确认", exact: true }).click();
    await page.getByRole("button", { name: "确认申请" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "确定" }).click();
    await page.getByText("退回时要求修改“通讯地址”，请在“完善信息”中修改后再提交").waitFor();
    await shot(page, `inspection-flagged-unchanged-${width}`);
    await page.goto(`${server.url}/member-inspection/profile`);
    await page.getByLabel("通讯地址").fill("广州市天河区体育西路191号中石化大厦B塔4302");
    await page.getByRole("button", { name: "年检申请", exact: true }).click();
    await page.getByTestId("return-reason").getByText("需修改：通讯地址").waitFor();
    await shot(page, `inspection-reapply-${width}`);
    await page.getByLabel("本人已阅读并同意以上承诺").check();
    await page.getByRole("button", { name: "确认", exact: true }).click();
    await page.getByRole("button", { name: "确认申请" }).click();
    await confirmDialog(page, "确认要申请2025年度年检吗");
    await page.getByRole("heading", { name: "申请成功，请明年按时参加年检。" }).waitFor();

    // Batch 通过 from the queue.
    await open(staff, "年检审核", "年检审核");
    await staff.getByRole("checkbox", { name: /^选择/ }).first().waitFor();
    const row = staff.getByRole("row", { name: new RegExp(member) });
    await row.getByRole("checkbox").check();
    await shot(staff, `inspection-queue-${width}`);
    await staff.getByRole("button", { name: "批量通过" }).click();
    await staff.getByRole("dialog").getByRole("button", { name: "确定" }).click();
    await staff.getByText("已批量通过1条").waitFor();
    await closePage(staff);

    // History, the trail, the QR code and the page it opens.
    if (phone(page)) {
      await open(page, "历年年检结果查询", null);
    } else {
      await open(page, null, "年检信息查询");
    }
    const passed = page.getByRole("row", { name: /年检通过/ });
    await passed.getByRole("link", { name: "查看" }).click();
    await page.getByTestId("state").getByText("年检通过").waitFor();
    const trail = page.getByRole("region", { name: "查看审批信息" });
    for (const node of ["非执业会员提交年检申请", "地方注协非执业会员审核退回", "非执业会员再次提交年检申请", "地方注协非执业会员审核通过"]) {
      await trail.getByText(node, { exact: true }).first().waitFor();
    }
    await trail.getByText("查看详情").nth(1).click();
    await trail.getByText("通讯地址请填写到门牌号").first().waitFor();
    await shot(page, `inspection-history-trail-${width}`);

    if (phone(page)) {
      await page.getByRole("link", { name: "我的" }).click();
      await page.getByRole("link", { name: /年检二维码/ }).click();
    } else {
      await open(page, null, "年检二维码");
    }
    await page.getByTestId("member-qr").locator("svg").waitFor();
    await shot(page, `inspection-qr-${width}`);
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: phone(page) ? "保存二维码到手机相册" : "下载", exact: true }).click(),
    ]);
    const stream = await download.createReadStream();
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    assert.deepEqual([...Buffer.concat(chunks).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], "a PNG image");

    await page.getByTestId("scan-link").click();
    await page.getByRole("heading", { name: "非执业会员年检结果" }).waitFor();
    await page.getByRole("cell", { name: "年检通过" }).waitFor();
    await page.getByText("如何离线核验二维码").waitFor();
    await shot(page, `inspection-public-${width}`);
    await closePage(page);
  });

  test(`a deferral is returned; then a fee waits 待确认 until confirmed, at ${width}px`, async () => {
    const member = members[2 + n];
    const page = await deferralReason(width, member);
    await page.getByLabel("暂缓证明材料").setInputFiles({ name: "出国证明.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\n%%EOF\n") });
    await page.getByRole("button", { name: "点击上传" }).click();
    await page.getByRole("link", { name: "出国证明.pdf" }).waitFor();
    await page.getByLabel(/^暂缓原因/).fill("出国（境）工作超过6个月");
    await shot(page, `inspection-deferral-${width}`);
    // Seed 000 §2.2.2.3: 确认申请 on PC; the phone's step says 确定提交.
    await page.getByRole("button", { name: phone(page) ? "确定提交" : "确认申请", exact: true }).click();
    await page.getByRole("heading", { name: "申请成功，请明年按时参加年检。" }).waitFor();

    const staff = await staffLogin(width, member);
    await openRow(staff, member);
    await staff.getByRole("heading", { name: "暂缓年检审核" }).waitFor();
    await staff.getByLabel(/^退回原因/).fill("请重新上传材料。");
    await submitBy(staff, staff.getByRole("button", { name: "暂缓退回" }));
    await waitText(staff, "已办理：暂缓退回");

    await page.goto(`${server.url}/member-inspection/history`);
    await page.getByRole("link", { name: "地方注协退回", exact: true }).click();
    const trail = page.getByRole("region", { name: "查看审批信息" });
    await trail.getByText("地方注协非执业会员审核暂缓退回", { exact: true }).first().waitFor();
    await trail.getByText("查看详情").last().click();
    await trail.getByText("暂缓信息：").last().waitFor();
    await trail.getByText("请重新上传材料。").last().waitFor();
    await shot(page, `inspection-deferral-returned-${width}`);

    // 再次申请, this time the inspection itself; the fee is paid elsewhere.
    await addHours(staff, member, "40");
    await page.goto(`${server.url}/member-inspection`);
    await page.getByRole("link", { name: "再次申请" }).click();
    await page.getByRole("button", { name: "年检申请", exact: true }).click();
    await page.getByLabel("本人已阅读并同意以上承诺").check();
    await page.getByRole("button", { name: "确认", exact: true }).click();
    await page.getByRole("button", { name: "确认已缴费" }).click();
    await page.getByText(/会费状态为“待确认”/).waitFor();
    assert.ok(await page.getByRole("button", { name: "确认申请" }).isDisabled(), "待确认 blocks");
    await shot(page, `inspection-fee-pending-${width}`);

    await open(staff, "会费确认", "会费确认");
    await staff.getByRole("row", { name: new RegExp(member) }).getByRole("checkbox").check();
    await shot(staff, `inspection-fee-queue-${width}`);
    await staff.getByRole("button", { name: "确认缴费" }).click();
    await staff.getByText("已确认1条会费缴纳记录").waitFor();

    await page.reload();
    assert.equal((await page.getByTestId("fee-status-2").textContent()).trim(), "已确认");
    await page.getByRole("button", { name: "确认申请" }).click();
    await confirmDialog(page, "确认要申请2025年度年检吗");
    await page.getByRole("heading", { name: "申请成功，请明年按时参加年检。" }).waitFor();

    // 年检不予通过 is not final at once: within the association's period it
    // can be taken back (撤销不予通过) or turned into 年检通过 (seed 000 §2.2.3).
    await openRow(staff, member);
    await staff.getByLabel(/^不予通过原因/).fill("长期未履行会员义务");
    await submitBy(staff, staff.getByRole("button", { name: "年检不予通过" }));
    await waitText(staff, "已办理：年检不予通过");
    await staff.getByRole("button", { name: "撤销不予通过" }).waitFor();
    await staff.getByRole("button", { name: "转为年检通过" }).waitFor();
    await shot(staff, `inspection-failed-revisable-${width}`);
    await page.goto(`${server.url}/member-inspection/history`);
    await page.getByRole("cell", { name: "年检不予通过" }).waitFor();
    await staff.getByTestId("final-on").waitFor();
    await staff.locator("#reason-reverse_fail").fill("误选了年检不予通过");
    await submitBy(staff, staff.getByRole("button", { name: "撤销不予通过" }));
    await waitText(staff, "已办理：撤销不予通过");
    await submitBy(staff, staff.getByRole("button", { name: "年检通过" }));
    await waitText(staff, "已办理：年检通过");
    const steps = staff.getByRole("region", { name: "查看审批信息" });
    await steps.getByText("地方注协撤销年检不予通过", { exact: true }).first().waitFor();
    await shot(staff, `inspection-failure-reversed-${width}`);
    await closePage(staff);

    // The passed application shows its state now, not the past return; both times.
    await page.goto(`${server.url}/member-inspection/history`);
    await page.getByRole("row", { name: /年检通过/ }).getByRole("link", { name: "查看" }).click();
    await page.getByTestId("state").getByText("年检通过").waitFor();
    assert.equal(await page.getByText("退回原因").count(), 0);
    await page.getByTestId("first-submitted").waitFor();
    await shot(page, `inspection-passed-view-${width}`);
    await closePage(page);
  });

  test(`暂缓年检通过 is turned into 年检通过 by the province, at ${width}px`, async () => {
    const member = members[4 + n];
    const page = await deferralReason(width, member);
    await page.getByLabel("暂缓证明材料").setInputFiles({ name: "产假证明.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\n%%EOF\n") });
    await page.getByRole("button", { name: "点击上传" }).click();
    await page.getByLabel(/^暂缓原因/).fill("产假");
    await page.getByRole("button", { name: phone(page) ? "确定提交" : "确认申请", exact: true }).click();
    await page.getByRole("heading", { name: "申请成功，请明年按时参加年检。" }).waitFor();

    const staff = await staffLogin(width, member);
    await openRow(staff, member);
    await submitBy(staff, staff.getByRole("button", { name: "暂缓通过" }));
    await waitText(staff, "已办理：暂缓通过");
    await staff.getByLabel(/^转为年检通过原因/).fill("已返岗并补足学时");
    await shot(staff, `inspection-deferred-resolvable-${width}`);
    await submitBy(staff, staff.getByRole("button", { name: "转为年检通过" }));
    await waitText(staff, "已办理：转为年检通过");
    await closePage(staff);

    // The phone's tile opens 历年年检结果查询; the PC's menu 年检信息查询.
    if (phone(page)) {
      await open(page, "历年年检结果查询", null);
      await page.getByRole("heading", { name: "历年年检结果查询" }).waitFor();
    } else {
      await open(page, null, "年检信息查询");
    }
    await page.getByRole("row", { name: /年检通过/ }).getByRole("link", { name: "查看" }).click();
    const trail = page.getByRole("region", { name: "查看审批信息" });
    await trail.getByText("地方注协非执业会员特殊状态转为年检通过", { exact: true }).first().waitFor();
    await shot(page, `inspection-resolved-${width}`);
    // The 🔔 tells of it.
    await page.getByLabel(/消息，未读/).click();
    await page.getByRole("region", { name: "最新消息" }).getByText(/年检通过/).first().waitFor();
    await shot(page, `inspection-resolved-bell-${width}`);
    await closePage(page);
  });
}
