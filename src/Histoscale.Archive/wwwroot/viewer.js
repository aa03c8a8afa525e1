// The slide viewer: OpenSeadragon over the archive's Deep Zoom tiles (fetched with the bearer token), heatmap
// overlays with opacity and legend, the slide's annotations drawn in an SVG layer in level-0 coordinates, drawing
// of rectangles, polygons, lines and points saved through the API, selecting an element to change its label and
// colour or delete it (PUT with If-Match), running a model on the slide with its progress (the heatmap is shown when
// the job completes), and a scale bar from the slide's resolution.
"use strict";
(async () => {
  const slideId = decodeURIComponent(window.location.pathname.split("/").pop());
  const base = "/slides/" + encodeURIComponent(slideId);
  const status = document.getElementById("status");
  const state = { tilesLoaded: 0, overlaysShown: 0, annotations: [], ready: false };
  window.hsViewer = state;
  const svgNs = "http://www.w3.org/2000/svg";
  const DRAWN = "Drawn in the viewer";

  let slide;
  try {
    slide = await HS.json(base);
  } catch (e) {
    status.textContent = "Cannot open slide: " + e.message;
    return;
  }
  document.getElementById("title").textContent = slide.name;
  document.title = slide.name + " - Histoscale";

  const dziSource = async (path, format) => {
    const xml = new DOMParser().parseFromString(await (await HS.api(path)).text(), "application/xml");
    const image = xml.documentElement;
    const size = image.getElementsByTagName("Size")[0];
    return {
      Image: {
        xmlns: "http://schemas.microsoft.com/deepzoom/2008",
        Url: "/api/v1" + path.replace(/\/dzi$/, "/dzi_files/"),
        Format: format,
        Overlap: image.getAttribute("Overlap"),
        TileSize: image.getAttribute("TileSize"),
        Size: { Width: size.getAttribute("Width"), Height: size.getAttribute("Height") },
      },
    };
  };

  const viewer = OpenSeadragon({
    id: "osd",
    prefixUrl: "/static/vendor/openseadragon/images/",
    tileSources: await dziSource(base + "/dzi", "jpeg"),
    loadTilesWithAjax: true,
    ajaxHeaders: HS.headers(),
    showNavigator: true,
    maxZoomPixelRatio: 2,
    crossOriginPolicy: false,
  });
  viewer.addHandler("tile-loaded", () => { state.tilesLoaded++; document.body.dataset.tilesLoaded = String(state.tilesLoaded); });
  viewer.addHandler("tile-load-failed", (e) => { status.textContent = "tile failed: " + (e.message || ""); });

  await new Promise((resolve) => viewer.addOnceHandler("open", resolve));
  const world = () => viewer.world.getItemAt(0);

  // Scale bar from the slide's µm per pixel.
  const scalebar = document.getElementById("scalebar");
  const updateScale = () => {
    if (!slide.mppX) { scalebar.style.display = "none"; return; }
    const screenPerImage = world().viewportToImageZoom(viewer.viewport.getZoom(true));
    const umPerScreen = slide.mppX / screenPerImage;
    const nice = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000].find((v) => v / umPerScreen >= 80) || 10000;
    scalebar.querySelector("div").style.width = Math.round(nice / umPerScreen) + "px";
    scalebar.querySelector("span").textContent = nice >= 1000 ? nice / 1000 + " mm" : nice + " \u00b5m";
  };
  viewer.addHandler("animation", updateScale);
  updateScale();

  // Heatmap overlays: placed in level-0 pixels, shown with an opacity slider and the class legend.
  const overlayBox = document.getElementById("overlays");
  const overlayRows = new Map();
  async function loadOverlays() {
    const overlays = await HS.json(base + "/overlays");
    for (const o of overlays) if (!overlayRows.has(o.id)) overlayRows.set(o.id, addOverlay(o));
    const none = overlayBox.querySelector(".none");
    if (none && overlayRows.size > 0) none.remove();
    document.body.dataset.overlays = String(overlayRows.size);
    return overlays;
  }
  function addOverlay(o) {
    const row = document.createElement("div");
    row.className = "overlay";
    row.innerHTML = "<label><input type=checkbox class=toggle> <span></span></label><br><input type=range class=opacity min=0 max=100 value=50><div class=legend></div>";
    row.querySelector("span").textContent = o.name;
    const legend = row.querySelector(".legend");
    if (o.legend && o.legend.classes) {
      o.legend.classes.forEach((c, i) => {
        const item = document.createElement("div");
        const swatch = document.createElement("span");
        swatch.style.background = (o.legend.colors || [])[i] || "#888";
        item.append(swatch, document.createTextNode(c));
        legend.append(item);
      });
    }
    overlayBox.append(row);
    const toggle = row.querySelector(".toggle");
    const opacity = row.querySelector(".opacity");
    let item = null;
    toggle.addEventListener("change", async () => {
      if (toggle.checked && !item) {
        const source = await dziSource(o.dzi.replace(/^\/api\/v1/, ""), "png");
        await new Promise((resolve) => viewer.addTiledImage({
          tileSource: source,
          x: o.x / slide.width,
          y: o.y / slide.width,
          width: o.width / slide.width,
          opacity: opacity.value / 100,
          loadTilesWithAjax: true,
          ajaxHeaders: HS.headers(),
          success: (e) => { item = e.item; resolve(); },
          error: resolve,
        }));
      }
      if (item) item.setOpacity(toggle.checked ? opacity.value / 100 : 0);
      state.overlaysShown = toggle.checked ? state.overlaysShown + 1 : Math.max(0, state.overlaysShown - 1);
      document.body.dataset.overlaysShown = String(state.overlaysShown);
    });
    opacity.addEventListener("input", () => { if (item && toggle.checked) item.setOpacity(opacity.value / 100); });
    return row;
  }
  await loadOverlays();

  // Annotation layer: one SVG in level-0 coordinates laid over the image.
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", `0 0 ${slide.width} ${slide.height}`);
  svg.setAttribute("preserveAspectRatio", "none");
  svg.id = "annotation-layer";
  svg.style.pointerEvents = "none";
  viewer.addOverlay({ element: svg, location: new OpenSeadragon.Rect(0, 0, 1, slide.height / slide.width) });
  document.getElementById("show-annotations").addEventListener("change", (e) => { svg.style.display = e.target.checked ? "" : "none"; });

  const strokeWidth = () => Math.max(1, 2 / world().viewportToImageZoom(viewer.viewport.getZoom(true)));
  const shape = (e) => {
    const colour = e.lineColor || "#00ff00";
    let node = null;
    if (e.type === "rectangle" || e.type === "ellipse" || e.type === "circle") {
      const w = e.type === "circle" ? e.radius * 2 : e.width;
      const h = e.type === "circle" ? e.radius * 2 : e.height;
      node = document.createElementNS(svgNs, e.type === "rectangle" ? "rect" : "ellipse");
      if (e.type === "rectangle") {
        node.setAttribute("x", e.center[0] - w / 2); node.setAttribute("y", e.center[1] - h / 2);
        node.setAttribute("width", w); node.setAttribute("height", h);
      } else {
        node.setAttribute("cx", e.center[0]); node.setAttribute("cy", e.center[1]);
        node.setAttribute("rx", w / 2); node.setAttribute("ry", h / 2);
      }
      if (e.rotation) node.setAttribute("transform", `rotate(${e.rotation * 180 / Math.PI} ${e.center[0]} ${e.center[1]})`);
    } else if (e.type === "point") {
      node = document.createElementNS(svgNs, "circle");
      node.setAttribute("cx", e.center[0]); node.setAttribute("cy", e.center[1]); node.setAttribute("r", 4 * strokeWidth());
      node.setAttribute("fill", colour);
    } else if (e.type === "polyline") {
      node = document.createElementNS(svgNs, e.closed ? "polygon" : "polyline");
      node.setAttribute("points", e.points.map((p) => p[0] + "," + p[1]).join(" "));
    }
    if (!node) return null;
    node.setAttribute("stroke", colour);
    node.setAttribute("vector-effect", "non-scaling-stroke");
    node.setAttribute("stroke-width", "2");
    if (!node.getAttribute("fill")) node.setAttribute("fill", "none");
    node.classList.add("annotation-element", "element-" + e.type);
    if (e.label && e.label.value) {
      const title = document.createElementNS(svgNs, "title");
      title.textContent = e.label.value;
      node.append(title);
    }
    return node;
  };

  const list = document.getElementById("annotation-list");
  let selected = null; // { annotation id, element index }
  async function loadAnnotations() {
    state.annotations = await HS.json(base + "/annotations");
    svg.replaceChildren();
    list.replaceChildren();
    for (const a of state.annotations) {
      const li = document.createElement("li");
      li.textContent = `${a.annotation.name} (${a.annotation.elements.length} elements, v${a.version})`;
      const items = document.createElement("ul");
      a.annotation.elements.forEach((e, index) => {
        const node = shape(e);
        if (node) svg.append(node);
        const item = document.createElement("li");
        item.className = "element";
        item.dataset.annotation = a.id;
        item.dataset.index = String(index);
        item.textContent = e.type + (e.label && e.label.value ? ": " + e.label.value : "");
        item.addEventListener("click", () => select(a.id, index));
        items.append(item);
      });
      li.append(items);
      list.append(li);
    }
    document.body.dataset.annotationElements = String(svg.querySelectorAll(".annotation-element").length);
    const still = selected && state.annotations.find((a) => a.id === selected.id);
    if (still && selected.index < still.annotation.elements.length) select(selected.id, selected.index); else select(null);
  }

  // Selection: one element of one annotation, whose label and colour can be changed or which can be deleted.
  const selection = document.getElementById("selection");
  function select(id, index) {
    selected = id === null ? null : { id, index };
    for (const item of list.querySelectorAll("li.element")) {
      item.classList.toggle("selected", selected !== null && item.dataset.annotation === selected.id && Number(item.dataset.index) === selected.index);
    }
    selection.hidden = selected === null;
    if (!selected) return;
    const a = state.annotations.find((x) => x.id === id);
    const e = a.annotation.elements[index];
    document.getElementById("selected-what").textContent = `${e.type} in "${a.annotation.name}"`;
    document.getElementById("selected-label").value = (e.label && e.label.value) || "";
    document.getElementById("selected-colour").value = /^#[0-9a-f]{6}$/i.test(e.lineColor || "") ? e.lineColor : "#00ff00";
  }
  async function changeSelected(change, keepSelection) {
    const { id, index } = selected;
    if (!keepSelection) selected = null;
    const a = state.annotations.find((x) => x.id === id);
    const doc = a.annotation;
    change(doc.elements, index);
    try {
      await HS.api(`/annotations/${encodeURIComponent(a.id)}`, {
        method: "PUT", headers: { "Content-Type": "application/json", "If-Match": String(a.version) }, body: JSON.stringify(doc),
      });
      status.textContent = "saved";
    } catch (err) {
      status.textContent = "not saved: " + err.message;
    }
    await loadAnnotations();
  }
  document.getElementById("selected-apply").addEventListener("click", () => changeSelected((elements, i) => {
    elements[i].label = { value: document.getElementById("selected-label").value };
    elements[i].lineColor = document.getElementById("selected-colour").value;
  }, true));
  document.getElementById("selected-delete").addEventListener("click", () => changeSelected((elements, i) => elements.splice(i, 1), false));
  await loadAnnotations();

  async function save(element) {
    const mine = state.annotations.find((a) => a.annotation.name === DRAWN);
    if (mine) {
      const doc = mine.annotation;
      doc.elements.push(element);
      await HS.api(`/annotations/${encodeURIComponent(mine.id)}`, {
        method: "PUT", headers: { "Content-Type": "application/json", "If-Match": String(mine.version) }, body: JSON.stringify(doc),
      });
    } else {
      await HS.api(base + "/annotations", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ name: DRAWN, elements: [element] }),
      });
    }
    await loadAnnotations();
  }
  async function saveAndSay(element) {
    try {
      await save(element);
      status.textContent = "saved";
    } catch (err) {
      status.textContent = "not saved: " + err.message;
      await loadAnnotations();
    }
  }

  // Drawing: while a tool is active, dragging draws instead of panning.
  let tool = null;
  const buttons = {
    rectangle: document.getElementById("draw-rect"),
    polygon: document.getElementById("draw-polygon"),
    polyline: document.getElementById("draw-polyline"),
    point: document.getElementById("draw-point"),
  };
  let vertices = [];
  let preview = null;
  const clearPreview = () => { if (preview) { preview.remove(); preview = null; } vertices = []; };
  const setTool = (t) => {
    tool = tool === t ? null : t;
    clearPreview();
    for (const [name, b] of Object.entries(buttons)) b.classList.toggle("active", name === tool);
    viewer.setMouseNavEnabled(tool === null);
  };
  for (const [name, b] of Object.entries(buttons)) b.addEventListener("click", () => setTool(name));
  const style = () => ({ lineColor: document.getElementById("colour").value, label: { value: document.getElementById("label").value } });
  const drawPath = () => {
    if (preview) preview.remove();
    preview = shape({ type: "polyline", closed: tool === "polygon", points: vertices, lineColor: "#ffff00" });
    svg.append(preview);
  };
  async function finishPath() {
    const closed = tool === "polygon";
    const points = vertices.map((v) => [v[0], v[1], 0]);
    clearPreview();
    if (points.length < (closed ? 3 : 2)) return;
    await saveAndSay(Object.assign({ type: "polyline", closed, points }, style()));
  }
  const pathTool = () => tool === "polygon" || tool === "polyline";
  let start = null;
  const toImage = (position) => world().viewerElementToImageCoordinates(position);
  new OpenSeadragon.MouseTracker({
    element: viewer.canvas,
    pressHandler: (e) => {
      if (!tool || pathTool()) return;
      start = toImage(e.position);
      if (tool === "rectangle") {
        preview = shape({ type: "rectangle", center: [start.x, start.y], width: 0, height: 0, lineColor: "#ffff00" });
        svg.append(preview);
      }
    },
    dragHandler: (e) => {
      if (tool !== "rectangle" || !start || !preview) return;
      const p = toImage(e.position);
      preview.setAttribute("x", Math.min(start.x, p.x)); preview.setAttribute("y", Math.min(start.y, p.y));
      preview.setAttribute("width", Math.abs(p.x - start.x)); preview.setAttribute("height", Math.abs(p.y - start.y));
    },
    clickHandler: (e) => {
      if (!pathTool()) return;
      const p = toImage(e.position);
      const last = vertices[vertices.length - 1];
      // A double-click's second click lands on the last vertex: no zero-length edge.
      if (last && Math.hypot(last[0] - p.x, last[1] - p.y) * world().viewportToImageZoom(viewer.viewport.getZoom(true)) < 3) return;
      vertices.push([p.x, p.y]);
      drawPath();
    },
    dblClickHandler: () => { if (pathTool()) finishPath(); },
    releaseHandler: async (e) => {
      if (!tool || pathTool() || !start) return;
      const p = toImage(e.position);
      const from = start;
      start = null;
      if (preview) { preview.remove(); preview = null; }
      let element;
      if (tool === "rectangle") {
        const w = Math.abs(p.x - from.x), h = Math.abs(p.y - from.y);
        if (w < 1 || h < 1) return;
        element = Object.assign({ type: "rectangle", center: [(p.x + from.x) / 2, (p.y + from.y) / 2, 0], width: w, height: h, rotation: 0 }, style());
      } else {
        element = Object.assign({ type: "point", center: [p.x, p.y, 0] }, style());
      }
      await saveAndSay(element);
    },
  }).setTracking(true);
  document.addEventListener("keydown", (e) => {
    if (!pathTool() || e.target instanceof HTMLInputElement) return;
    if (e.key === "Enter") { e.preventDefault(); finishPath(); }
    if (e.key === "Escape") clearPreview();
  });

  // Run a model on this slide: the served repository's models, a job per click, its progress polled until it
  // ends; then the new heatmap is added to the list and shown, and the job's annotation drawn.
  const modelSelect = document.getElementById("model");
  const runButton = document.getElementById("run-model");
  const jobStatus = document.getElementById("job-status");
  const jobProgress = document.getElementById("job-progress");
  try {
    for (const m of await HS.json("/models")) {
      if (m.error) continue;
      const option = document.createElement("option");
      option.value = option.textContent = m.name;
      modelSelect.append(option);
    }
  } catch (err) {
    jobStatus.textContent = "models: " + err.message;
  }
  runButton.disabled = modelSelect.options.length === 0;
  if (modelSelect.options.length === 0 && !jobStatus.textContent) jobStatus.textContent = "no models served";
  async function follow(id) {
    runButton.disabled = true;
    jobProgress.hidden = false;
    const before = new Set(overlayRows.keys());
    for (;;) {
      const job = await HS.json("/jobs/" + encodeURIComponent(id));
      const p = job.progress;
      jobProgress.value = p.tilesTotal > 0 ? p.tilesDone / p.tilesTotal : 0;
      jobStatus.textContent = `${job.model}: ${job.state}` + (p.tilesTotal > 0 ? ` (${p.tilesDone}/${p.tilesTotal} tiles)` : "") + (job.error ? ": " + job.error : "");
      document.body.dataset.jobState = job.state;
      if (job.state !== "queued" && job.state !== "running") break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    runButton.disabled = false;
    jobProgress.hidden = true;
    await loadOverlays();
    for (const [oid, row] of overlayRows) {
      if (before.has(oid)) continue;
      const toggle = row.querySelector(".toggle");
      toggle.checked = true;
      toggle.dispatchEvent(new Event("change"));
    }
    await loadAnnotations();
  }
  runButton.addEventListener("click", async () => {
    try {
      const job = await HS.json("/jobs", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ slideIds: [slideId], model: modelSelect.value }),
      });
      await follow(job.id);
    } catch (err) {
      jobStatus.textContent = "not started: " + err.message;
      runButton.disabled = false;
    }
  });
  // A job of this slide still running (started before this page was opened): follow it.
  try {
    const active = (await HS.json("/jobs?slideId=" + encodeURIComponent(slideId))).find((j) => j.state === "queued" || j.state === "running");
    if (active) follow(active.id);
  } catch (err) { /* jobs are optional */ }

  state.ready = true;
  document.body.dataset.ready = "true";
  status.textContent = "";
})();
