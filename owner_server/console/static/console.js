// Custos console: the only script of our own. No inline script anywhere (CSP script-src 'self').
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // Every htmx request carries the CSRF token; polls say so, so they don't count as activity.
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrfToken();
    var source = event.detail.elt;
    if (source && source.hasAttribute && source.hasAttribute("data-poll")) {
      event.detail.headers["X-Custos-Poll"] = "1";
    }
  });

  // Forms and buttons with data-confirm ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var text = form.getAttribute && form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  }, true);

  // Charts: <canvas data-chart='{"type": ..., "data": ...}'>; drawn by Chart.js when it is on the page.
  var charts = new WeakMap();
  function drawCharts(root) {
    if (typeof window.Chart === "undefined") {
      return;
    }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var config = JSON.parse(canvas.getAttribute("data-chart"));
      var existing = charts.get(canvas);
      if (existing) {
        existing.data = config.data;
        existing.update("none");
        return;
      }
      config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options || {});
      charts.set(canvas, new window.Chart(canvas, config));
    });
  }
  // A swap replaces the canvases (live dashboard): free their charts first so polling does not pile them up.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.querySelectorAll) {
      return;
    }
    target.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var existing = charts.get(canvas);
      if (existing) {
        existing.destroy();
        charts.delete(canvas);
      }
    });
  });
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });

  // Progress bars: <progress data-progress-of="id"> elements are updated by htmx swaps; nothing to do here.
  window.custosDrawCharts = drawCharts;
})();
