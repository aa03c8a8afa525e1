"use strict";
(async () => {
  const main = document.getElementById("collections");
  const status = document.getElementById("status");
  let slides;
  try {
    slides = await HS.json("/slides");
  } catch (e) {
    status.textContent = "Could not list slides: " + e.message;
    return;
  }
  status.remove();
  if (slides.length === 0) {
    main.textContent = "No slides.";
  }
  const byCollection = new Map();
  for (const s of slides) {
    if (!byCollection.has(s.collection)) byCollection.set(s.collection, []);
    byCollection.get(s.collection).push(s);
  }
  for (const [collection, items] of byCollection) {
    const section = document.createElement("section");
    section.innerHTML = "<h2></h2><ul class=slides></ul>";
    section.querySelector("h2").textContent = collection;
    const list = section.querySelector("ul");
    for (const s of items) {
      const li = document.createElement("li");
      li.className = "slide";
      li.dataset.slideId = s.id;
      const a = document.createElement("a");
      a.href = "/viewer/" + encodeURIComponent(s.id);
      const img = document.createElement("img");
      img.alt = s.name;
      const caption = document.createElement("span");
      caption.textContent = `${s.name} (${s.width}\u00d7${s.height}${s.mppX ? ", " + s.mppX.toFixed(3) + " \u00b5m/px" : ""})`;
      a.append(img, caption);
      li.append(a);
      list.append(li);
      HS.imageUrl(`/slides/${encodeURIComponent(s.id)}/thumbnail?max=200`).then((u) => { img.src = u; }).catch(() => { img.alt = "no thumbnail"; });
    }
    main.append(section);
  }
})();
