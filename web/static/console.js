// Huntsman console, on top of htmx: pause a live block's refresh while the admin is typing in it
// (the refresh would replace the field and lose what was typed).
document.addEventListener("htmx:beforeRequest", function (event) {
  var block = event.detail.elt;
  var focused = document.activeElement;
  if (block.hasAttribute("data-live") && focused && focused.tagName === "INPUT" && block.contains(focused)) {
    event.preventDefault();
  }
});
