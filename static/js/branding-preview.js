// The branding preview: sized to the whole email, and redrawn while the admin types.
// Without this file the preview shows the saved branding at a fixed height.
(() => {
  const frame = document.getElementById("preview-frame");
  const form = document.getElementById("branding-form");
  if (!frame || !form) return;

  // The framed email runs no script (its Content-Security-Policy and the sandbox allow
  // none), so reading its height from here is all that "allow-same-origin" permits.
  const fit = () => {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    // Collapse first: a document is never shorter than its frame, so measuring at the old
    // height could only ever grow it.
    frame.style.height = "0px";
    frame.style.height = `${doc.documentElement.scrollHeight + 2}px`;
  };
  frame.addEventListener("load", fit);
  if (frame.contentDocument && frame.contentDocument.readyState === "complete") fit();
  window.addEventListener("resize", fit);

  const mode = document.getElementById("preview-mode");
  let timer = null;
  const redraw = () => {
    const params = new URLSearchParams({ draft: "1", lang: frame.dataset.previewLang || "en" });
    for (const [name, value] of new FormData(form)) {
      if (name !== "csrf_token" && typeof value === "string") params.append(name, value);
    }
    frame.src = `${frame.dataset.previewUrl}?${params}`;
    if (mode) {
      mode.textContent =
        "The email below shows what you typed, not yet saved; the subject and the text part " +
        "show the saved branding until you save.";
    }
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(redraw, 300);
  });
})();
