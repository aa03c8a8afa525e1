// The slide viewer: OpenSeadragon over the archive's Deep Zoom tiles (fetched with the bearer token), heatmap
// overlays with opacity and legend, the slide's annotations drawn in an SVG layer in level-0 coordinates, drawing
// of rectangles and points saved through the API, and a scale bar from the slide's resolution.
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
  const overlays = await HS.json(base + "/overlays");
  const overlayBox = document.getElementById("overlays");
  if (overlays.length > 0) overlayBox.querySelector(".none").remove();
  for (const o of overlays) {
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
  }

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
  async function loadAnnotations() {
    state.annotations = await HS.json(base + "/annotations");
    svg.replaceChildren();
    list.replaceChildren();
    for (const a of state.annotations) {
      const li = document.createElement("li");
      li.textContent = `${a.annotation.name} (${a.annotation.elements.length} elements, v${a.version})`;
      list.append(li);
      for (const e of a.annotation.elements) {
        const node = shape(e);
        if (node) svg.append(node);
      }
    }
    document.body.dataset.annotationElements = String(svg.querySelectorAll(".annotation-element").length);
  }
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

  // Drawing: while a tool is active, dragging draws instead of panning.
  let tool = null;
  const buttons = { rectangle: document.getElementById("draw-rect"), point: document.getElementById("draw-point") };
  const setTool = (t) => {
    tool = tool === t ? null : t;
    for (const [name, b] of Object.entries(buttons)) b.classList.toggle("active", name === tool);
    viewer.setMouseNavEnabled(tool === null);
  };
  buttons.rectangle.addEventListener("click", () => setTool("rectangle"));
  buttons.point.addEventListener("click", () => setTool("point"));
  const style = () => ({ lineColor: document.getElementById("colour").value, label: { value: document.getElementById("label").value } });
  let start = null;
  let preview = null;
  const toImage = (position) => world().viewerElementToImageCoordinates(position);
  new OpenSeadragon.MouseTracker({
    element: viewer.canvas,
    pressHandler: (e) => {
      if (!tool) return;
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
    releaseHandler: async (e) => {
      if (!tool || !start) return;
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
      try {
        await save(element);
        status.textContent = "saved";
      } catch (err) {
        status.textContent = "not saved: " + err.message;
      }
    },
  }).setTracking(true);

  state.ready = true;
  document.body.dataset.ready = "true";
  status.textContent = "";
})();
