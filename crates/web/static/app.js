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

// The lesson player (在线学习): while a video plays (a document: while its
// page is in sight) it reports its place every five seconds, from an id kept
// for this tab; the server counts only the time that passed, so skipping
// ahead earns nothing and a second tab is refused. A finished lesson shows
// its 评价 form.
(function () {
  var box = document.querySelector("[data-player]");
  if (!box) return;
  var tab = sessionStorage.getItem("cmis-tab");
  if (!tab) {
    tab = (window.crypto && crypto.randomUUID ? crypto.randomUUID() : Math.random().toString(36).slice(2) + Date.now().toString(36));
    sessionStorage.setItem("cmis-tab", tab);
  }
  var video = box.querySelector("video");
  var duration = Number(box.dataset.duration);
  var reached = Number(box.dataset.reached);
  var reading = reached;
  var finished = reached >= duration;
  var bar = box.querySelector("[data-progress]");
  var text = box.querySelector("[data-progress-text]");
  var error = box.querySelector("[data-player-error]");
  var state = box.querySelector("[data-player-state]");
  var meta = document.querySelector('meta[name="csrf-token"]');
  var busy = false;
  function show(j) {
    reached = j.reached;
    bar.value = j.reached;
    text.textContent = Math.min(100, Math.floor((j.reached * 100) / j.duration)) + "%";
    state.textContent = j.state;
    error.hidden = true;
    if (j.finished && !finished) {
      finished = true;
      var form = document.querySelector("[data-evaluate-later]");
      if (form) form.hidden = false;
    }
  }
  function report() {
    if (busy || finished) return;
    // A video that ended has played to its end, whatever its rounding.
    var at = video ? (video.ended ? duration : video.currentTime) : reading;
    busy = true;
    fetch("/learning/lessons/" + box.dataset.lesson + "/progress", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": meta ? meta.content : "" },
      body: new URLSearchParams({ tab: tab, position: String(at) }),
    })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (x) {
        if (x.ok) show(x.j);
        else {
          error.textContent = x.j.error || "学习进度未能保存，请刷新页面";
          error.hidden = false;
          if (video && !video.paused) video.pause();
        }
      })
      .catch(function () { error.textContent = "网络中断，学习进度暂未保存"; error.hidden = false; })
      .finally(function () { busy = false; });
  }
  setInterval(function () {
    if (video) { if (!video.paused || video.ended) report(); }
    else if (!document.hidden && !finished) { reading = Math.min(duration, reading + 5); report(); }
  }, 5000);
  if (video) {
    video.addEventListener("play", report);
    video.addEventListener("pause", report);
    video.addEventListener("ended", report);
    video.addEventListener("loadedmetadata", function () {
      if (reached > 0 && reached < duration && isFinite(video.duration)) video.currentTime = reached;
    });
  } else {
    report();
  }
})();
