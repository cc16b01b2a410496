// Sends the CSRF token with every htmx request, and lets the captcha image
// refresh from the keyboard.
document.addEventListener("htmx:configRequest", function (e) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) e.detail.headers["X-CSRF-Token"] = meta.content;
});
document.addEventListener("keydown", function (e) {
  if ((e.key === "Enter" || e.key === " ") && e.target.matches && e.target.matches(".captcha img")) {
    e.preventDefault();
    e.target.click();
  }
});
// Forms with data-confirm ask first, in a dialog with 取消 / 确定 (seed 000:
// "确认要申请2021年度年检吗"). Without script, the form submits directly.
document.addEventListener("submit", function (e) {
  var form = e.target.matches && e.target.matches("form[data-confirm]") ? e.target : null;
  if (!form || form.dataset.confirmed === "1") return;
  e.preventDefault();
  var d = document.createElement("dialog");
  d.className = "confirm";
  d.setAttribute("aria-label", "确认");
  var p = document.createElement("p");
  p.textContent = form.dataset.confirm;
  var actions = document.createElement("div");
  actions.className = "actions";
  var cancel = document.createElement("button");
  cancel.type = "button"; cancel.className = "button"; cancel.textContent = "取消";
  var ok = document.createElement("button");
  ok.type = "button"; ok.className = "button primary"; ok.textContent = "确定";
  actions.append(cancel, ok);
  d.append(p, actions);
  document.body.append(d);
  cancel.addEventListener("click", function () { d.close(); d.remove(); });
  ok.addEventListener("click", function () {
    form.dataset.confirmed = "1";
    d.close(); d.remove();
    form.submit();
  });
  d.showModal();
});
// A file over its limit is named before it is sent (the server refuses it
// too, keeping what was typed): the choice is cleared and the reason shown.
document.addEventListener("change", function (e) {
  var input = e.target;
  if (!input.matches || !input.matches("input[type=file][data-max-bytes]")) return;
  var max = parseInt(input.dataset.maxBytes, 10);
  var box = input.parentElement.querySelector("[data-file-error]");
  var big = input.files && input.files[0] && input.files[0].size > max;
  if (big) input.value = "";
  if (box) {
    box.textContent = big ? input.dataset.tooLarge : "";
    box.hidden = !big;
  }
});
// Dialogs written in a page: [data-open=id] opens one, [data-close] closes
// its own, and a dialog[data-auto] opens when it appears (on load, or when
// htmx swaps it in: the PC's face check turning to 申请成功).
document.addEventListener("click", function (e) {
  var opener = e.target.closest && e.target.closest("[data-open]");
  if (opener) {
    var d = document.getElementById(opener.dataset.open);
    if (d && !opener.disabled) {
      e.preventDefault();
      var from = opener.closest("dialog");
      if (from) from.close();
      d.showModal();
    }
    return;
  }
  var closer = e.target.closest && e.target.closest("[data-close]");
  if (closer) {
    var own = closer.closest("dialog");
    if (own) { e.preventDefault(); own.close(); }
  }
});
function openAuto(root) {
  root.querySelectorAll("dialog[data-auto]").forEach(function (d) { if (!d.open) d.showModal(); });
}
document.addEventListener("DOMContentLoaded", function () { openAuto(document); });
document.addEventListener("htmx:afterSettle", function (e) { openAuto(e.target.parentElement || document); });
// A form marked data-autosubmit is sent when one of its choices changes.
document.addEventListener("change", function (e) {
  var form = e.target.closest && e.target.closest("form[data-autosubmit]");
  if (form) form.submit();
});
// A checkbox [data-check-all=form] ticks or clears every box of that form on the page.
document.addEventListener("change", function (e) {
  var all = e.target.matches && e.target.matches("input[data-check-all]") ? e.target : null;
  if (!all) return;
  document.querySelectorAll('input[type=checkbox][form="' + all.dataset.checkAll + '"]').forEach(function (b) {
    if (!b.disabled) b.checked = all.checked;
  });
});
