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

  // The upload form: drag and drop, the size checked before sending, and
  // a progress bar while the same multipart POST goes out through
  // XMLHttpRequest (fetch reports no upload progress). Without JavaScript
  // the form posts as it is; the server checks everything either way.
  window.Alpine.data("uploader", () => ({
    busy: false,
    progress: 0,
    dragging: false,
    get dropClass() {
      return { "is-dragging": this.dragging };
    },
    over() {
      this.dragging = true;
    },
    leave() {
      this.dragging = false;
    },
    drop(event) {
      this.dragging = false;
      if (event.dataTransfer?.files?.length) {
        this.$refs.file.files = event.dataTransfer.files;
        this.check();
      }
    },
    problem(message) {
      this.$refs.problem.textContent = message;
      this.$refs.file.setAttribute("aria-invalid", message ? "true" : "false");
    },
    check() {
      const file = this.$refs.file.files[0];
      const max = Number(this.$root.dataset.maxBytes);
      if (file && file.size > max) {
        this.problem(`${file.name} is larger than ${this.$root.dataset.maxText}, the most one upload may be: choose a smaller file.`);
        return false;
      }
      this.problem("");
      return true;
    },
    send(event) {
      event.preventDefault();
      if (this.busy || !this.check()) {
        return;
      }
      const xhr = new XMLHttpRequest();
      xhr.open("POST", this.$root.action);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) {
          this.progress = Math.round((e.loaded / e.total) * 100);
        }
      });
      xhr.addEventListener("load", () => {
        if (xhr.status < 400) {
          window.location.assign(xhr.responseURL);
          return;
        }
        this.busy = false;
        const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
        this.problem(page.getElementById("upload-problem")?.textContent || "The upload failed: try again.");
      });
      xhr.addEventListener("error", () => {
        this.busy = false;
        this.problem("The upload was cut off: check your connection and try again.");
      });
      this.busy = true;
      this.progress = 0;
      xhr.send(new FormData(this.$root));
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
