#!/usr/bin/env python3
"""Test oracle: OpenSlide's view of a slide. usage: openslide_oracle.py SLIDE OUTDIR [level,x,y,w,h ...]
Writes OUTDIR/view.json (levels, properties, associated sizes) and OUTDIR/region{i}.rgba (raw RGBA) per region,
and OUTDIR/assoc_{name}.rgba per associated image."""
import json, os, sys
import openslide

slide, out = sys.argv[1], sys.argv[2]
s = openslide.OpenSlide(slide)
view = {
    "levels": [{"width": w, "height": h, "downsample": d} for (w, h), d in zip(s.level_dimensions, s.level_downsamples)],
    "properties": dict(s.properties),
    "associated": {k: list(v.size) for k, v in s.associated_images.items()},
}
for i, spec in enumerate(sys.argv[3:]):
    level, x, y, w, h = (int(v) for v in spec.split(","))
    with open(os.path.join(out, f"region{i}.rgba"), "wb") as f:
        f.write(s.read_region((x, y), level, (w, h)).convert("RGBA").tobytes())
for k, v in s.associated_images.items():
    with open(os.path.join(out, f"assoc_{k}.rgba"), "wb") as f:
        f.write(v.convert("RGBA").tobytes())
with open(os.path.join(out, "view.json"), "w") as f:
    json.dump(view, f)
