// Alpine components. The CSP build of Alpine cannot compile expressions
// with eval, so behaviour lives here and templates only name properties
// and methods (x-data="navbar", @click="toggle").
document.addEventListener("alpine:init", () => {
  window.Alpine.data("navbar", () => ({
    open: false,
    toggle() {
      this.open = !this.open;
    },
    close() {
      this.open = false;
    },
    get expanded() {
      return this.open ? "true" : "false";
    },
    get activeClass() {
      return { "is-active": this.open };
    },
  }));
});

// After htmx swaps in a field with a problem, move focus to it so screen
// reader and keyboard users land where the correction is needed.
document.addEventListener("htmx:afterSwap", (event) => {
  const invalid = event.detail.target.querySelector?.("[aria-invalid=true]");
  if (invalid && event.detail.requestConfig?.elt?.tagName === "FORM") {
    invalid.focus();
  }
});
