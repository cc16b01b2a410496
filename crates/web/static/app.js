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
