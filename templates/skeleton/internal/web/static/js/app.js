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

// A field check swaps in only the line under the input (its target is the
// field's feedback, named by the input's aria-describedby), so the input
// takes its invalid state from that line here.
document.addEventListener("htmx:afterSwap", (event) => {
  const feedback = event.detail.target;
  const input = event.detail.requestConfig?.elt;
  if (!feedback.classList.contains("field-feedback") || input?.getAttribute("aria-describedby") !== feedback.id) {
    return;
  }
  const invalid = feedback.querySelector(".is-danger") !== null;
  input.classList.toggle("is-danger", invalid);
  if (invalid) {
    input.setAttribute("aria-invalid", "true");
  } else {
    input.removeAttribute("aria-invalid");
  }
});
