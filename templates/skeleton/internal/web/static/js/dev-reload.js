// Development only (SOURCE_DIR): the layout loads this script when the app
// reads its templates and static files from disk. It waits on /dev/reload
// for a change newer than this page, then reloads the page; a change that
// does not load shows its error at the top until the next one loads.
(() => {
  const generation = document.currentScript.dataset.generation;
  const events = new EventSource("/dev/reload?since=" + encodeURIComponent(generation));
  events.addEventListener("reload", () => {
    events.close();
    window.location.reload();
  });
  events.addEventListener("problem", (event) => {
    let banner = document.getElementById("dev-reload-problem");
    if (!event.data) {
      banner?.remove();
      return;
    }
    if (!banner) {
      banner = document.createElement("div");
      banner.id = "dev-reload-problem";
      banner.className = "notification is-danger dev-reload-problem";
      banner.setAttribute("role", "alert");
      document.body.prepend(banner);
    }
    banner.textContent = "This change does not load, so the page shows the version before: " + event.data;
  });
})();
