// shelfcam ROI editor: drag the corners of the interaction and inventory polygons over the
// camera's picture. The polygons live in the form's two textareas ("x,y x,y ..." in 0..1,
// the CLI's notation); this script only edits that text, so the form also works without it.
// Pointer events: mouse, pen and touch alike. No inline code (the page's CSP forbids it).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var FULL = [[0, 0], [1, 0], [1, 1], [0, 1]];
  var PAD = 14;  // the canvas reaches this far beyond the picture: corners stay grabbable
  var stage = document.querySelector("[data-roi-stage]");
  var form = document.querySelector("[data-roi-form]");
  if (!stage || !form) { return; }
  document.documentElement.classList.add("js");
  var svg = stage.querySelector("[data-roi-canvas]");
  svg.classList.add("live");
  var status = form.querySelector("[data-roi-status]");
  var inputs = {};
  form.querySelectorAll("[data-roi-input]").forEach(function (el) {
    inputs[el.getAttribute("data-roi-input")] = el;
  });
  var rois = { interaction: parse(inputs.interaction.value) || FULL.slice(),
               inventory: parse(inputs.inventory.value) || FULL.slice() };
  var active = "inventory";
  var selected = -1;
  var drawing = null;   // points of a polygon being redrawn, or null
  var drag = null;      // {index} while a corner is dragged

  function parse(text) {
    var points = [];
    var pairs = text.trim().split(/\s+/);
    for (var i = 0; i < pairs.length; i++) {
      var xy = pairs[i].split(",");
      if (xy.length !== 2) { return null; }
      var x = Number(xy[0]), y = Number(xy[1]);
      if (!isFinite(x) || !isFinite(y) || x < 0 || x > 1 || y < 0 || y > 1) { return null; }
      points.push([x, y]);
    }
    return points.length >= 3 ? points : null;
  }
  function num(v) { return String(Math.round(v * 1000) / 1000); }
  function format(points) {
    return points.map(function (p) { return num(p[0]) + "," + num(p[1]); }).join(" ");
  }
  function cross(o, a, b) { return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]); }
  function segmentsCross(p1, p2, q1, q2) {
    var d1 = cross(q1, q2, p1), d2 = cross(q1, q2, p2), d3 = cross(p1, p2, q1), d4 = cross(p1, p2, q2);
    return ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0));
  }
  function problem(points) {
    if (points.length < 3) { return "needs at least 3 corners"; }
    var n = points.length;
    for (var i = 0; i < n; i++) {
      for (var j = i + 1; j < n; j++) {
        if (j === i + 1 || (i === 0 && j === n - 1)) { continue; }
        if (segmentsCross(points[i], points[(i + 1) % n], points[j], points[(j + 1) % n])) {
          return "outline crosses itself";
        }
      }
    }
    return "";
  }
  function size() {
    var r = stage.getBoundingClientRect();
    return { w: Math.max(1, r.width), h: Math.max(1, r.height), left: r.left, top: r.top };
  }
  function toNorm(evt) {
    var s = size();
    var x = Math.min(1, Math.max(0, (evt.clientX - s.left) / s.w));
    var y = Math.min(1, Math.max(0, (evt.clientY - s.top) / s.h));
    return [Math.round(x * 1000) / 1000, Math.round(y * 1000) / 1000];
  }
  function el(name, attrs) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }
  function say(text) { status.textContent = text; }
  function sync(which) {
    inputs[which].value = format(rois[which]);
    var p = problem(rois[which]);
    say(p ? which + " ROI: " + p : "");
  }

  function render() {
    var s = size();
    svg.setAttribute("viewBox", -PAD + " " + -PAD + " " + (s.w + 2 * PAD) + " " + (s.h + 2 * PAD));
    svg.setAttribute("preserveAspectRatio", "none");
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    ["interaction", "inventory"].forEach(function (which) {
      var points = (drawing && which === active) ? drawing : rois[which];
      var text = points.map(function (p) { return p[0] * s.w + "," + p[1] * s.h; }).join(" ");
      var shape = el(drawing && which === active ? "polyline" : "polygon", {
        "class": "roi roi-" + which + (which === active ? " active" : ""), points: text
      });
      svg.appendChild(shape);
    });
    var points = drawing || rois[active];
    var n = points.length;
    if (!drawing) {
      for (var m = 0; m < n; m++) {   // midpoints: drag one to add a corner there
        var a = points[m], b = points[(m + 1) % n];
        svg.appendChild(el("circle", {
          "class": "mid", "data-mid": m, r: 7,
          cx: (a[0] + b[0]) / 2 * s.w, cy: (a[1] + b[1]) / 2 * s.h
        }));
      }
    }
    for (var i = 0; i < n; i++) {
      svg.appendChild(el("circle", {
        "class": "handle" + (i === selected ? " selected" : ""), "data-index": i, r: 11,
        cx: points[i][0] * s.w, cy: points[i][1] * s.h
      }));
    }
  }

  svg.addEventListener("pointerdown", function (evt) {
    var target = evt.target;
    if (drawing) {
      drawing.push(toNorm(evt));
      say("Corner " + drawing.length + " placed. Tap \u201cFinish shape\u201d when done.");
      render();
      evt.preventDefault();
      return;
    }
    var points = rois[active];
    if (target.hasAttribute("data-mid")) {
      var at = Number(target.getAttribute("data-mid")) + 1;
      points.splice(at, 0, toNorm(evt));
      drag = { index: at };
      selected = at;
    } else if (target.hasAttribute("data-index")) {
      selected = Number(target.getAttribute("data-index"));
      drag = { index: selected };
    } else {
      return;
    }
    svg.setPointerCapture(evt.pointerId);
    evt.preventDefault();
    render();
  });
  svg.addEventListener("pointermove", function (evt) {
    if (!drag) { return; }
    rois[active][drag.index] = toNorm(evt);
    render();
    evt.preventDefault();
  });
  function endDrag(evt) {
    if (!drag) { return; }
    drag = null;
    if (svg.hasPointerCapture(evt.pointerId)) { svg.releasePointerCapture(evt.pointerId); }
    sync(active);
    render();
  }
  svg.addEventListener("pointerup", endDrag);
  svg.addEventListener("pointercancel", endDrag);

  form.querySelectorAll("[data-roi-choose]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      if (!radio.checked) { return; }
      finishDrawing(false);
      active = radio.value;
      selected = -1;
      render();
    });
  });
  Object.keys(inputs).forEach(function (which) {
    inputs[which].addEventListener("input", function () {
      var points = parse(inputs[which].value);
      if (points) { rois[which] = points; say(problem(points) ? which + " ROI: " + problem(points) : ""); render(); }
      else { say(which + " ROI: write x,y pairs between 0 and 1, at least 3"); }
    });
  });

  var redraw = form.querySelector('[data-roi-action="redraw"]');
  function finishDrawing(keep) {
    if (!drawing) { return; }
    if (keep && drawing.length >= 3) { rois[active] = drawing; }
    drawing = null;
    redraw.textContent = "Redraw";
    sync(active);
    render();
  }
  form.querySelector('[data-roi-action="remove"]').addEventListener("click", function () {
    var points = rois[active];
    if (selected < 0 || selected >= points.length) { say("Tap a corner first."); return; }
    if (points.length <= 3) { say("A region needs at least 3 corners."); return; }
    points.splice(selected, 1);
    selected = -1;
    sync(active);
    render();
  });
  form.querySelector('[data-roi-action="full"]').addEventListener("click", function () {
    finishDrawing(false);
    rois[active] = FULL.map(function (p) { return p.slice(); });
    selected = -1;
    sync(active);
    render();
  });
  redraw.addEventListener("click", function () {
    if (drawing) { finishDrawing(true); return; }
    drawing = [];
    selected = -1;
    redraw.textContent = "Finish shape";
    say("Tap the picture at each corner of the " + active + " region, then \u201cFinish shape\u201d.");
    render();
  });
  form.addEventListener("submit", function () { finishDrawing(true); });

  var image = stage.querySelector("[data-roi-image]");
  if (image && !image.complete) { image.addEventListener("load", render); }
  window.addEventListener("resize", render);
  render();
})();
