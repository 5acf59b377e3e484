// fleetwise dashboard: draws the Vega-Lite specs embedded in the page and sends the
// decision form with its bearer token. Served from this server; no inline script.
"use strict";

function drawCharts() {
  if (typeof window.vegaEmbed !== "function") {
    return;
  }
  // ast: vega-embed evaluates expressions with Vega's interpreter instead of generating
  // code, so the Content-Security-Policy needs no 'unsafe-eval'.
  const options = {
    renderer: "svg",
    actions: false,
    defaultStyle: false,
    ast: true,
  };
  document.querySelectorAll("[data-chart]").forEach(function (el) {
    const source = document.getElementById(el.dataset.chart);
    const spec = JSON.parse(source.textContent);
    window.vegaEmbed(el, spec, options).then(
      function () { el.dataset.rendered = "true"; },
      function (err) {
        el.textContent = "This chart could not be drawn: " + err;
        el.dataset.rendered = "failed";
      }
    );
  });
}

function decisionForm() {
  const form = document.getElementById("decide");
  if (!form) {
    return;
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      action_id: Number(data.get("action_id")),
      decision: data.get("decision"),
      by: data.get("by"),
      note: data.get("note") || "",
    };
    fetch(form.dataset.endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + data.get("token"),
      },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (doc) {
        if (response.ok) {
          window.location.reload();
        } else {
          form.elements.result.value = typeof doc.detail === "string" ? doc.detail : "refused";
        }
      });
    });
  });
}

drawCharts();
decisionForm();
