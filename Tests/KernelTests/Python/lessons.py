"""Executes notebooks made by `normlab notebook` with nbclient against the Normlab kernel and
checks them: no cell errs (but one tagged raises-exception, a lesson's `swift error` cell, must),
every cell that checks a claim shows its check mark, and every cell that draws sends its
pictures as PNG. Writes the executed notebooks to OUTDIR.

Usage: lessons.py OUTDIR NOTEBOOK... (JUPYTER_PATH must point at a folder holding
kernels/normlab)."""
import base64
import os
import sys

import nbformat
from nbclient import NotebookClient

PICTURES = ("show(", "plot(", "scatter(", "train_gan(", "train_toy(")

out, notebooks = sys.argv[1], sys.argv[2:]
failures = []
for path in notebooks:
    name = os.path.basename(path)
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == "normlab", nb.metadata
    NotebookClient(nb, kernel_name="normlab", timeout=600, resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    nbformat.write(nb, os.path.join(out, name))
    code = [c for c in nb.cells if c.cell_type == "code"]
    pictures = 0
    for number, cell in enumerate(code, 1):
        where = f"{name} cell {number} ({cell.source.splitlines()[0] if cell.source else ''})"
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if "raises-exception" in cell.metadata.get("tags", []):
            if not errors:
                failures.append(f"{where}: shows an error on purpose, but ran without one")
        elif errors:
            failures.append(f"{where}: {errors[0].ename}: {errors[0].evalue}")
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if "check(" in cell.source and "\u2713" not in text:
            failures.append(f"{where}: checks a claim but shows no \u2713")
        images = [o for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.data]
        for image in images:
            if base64.b64decode(image.data["image/png"])[:8] != b"\x89PNG\r\n\x1a\n":
                failures.append(f"{where}: image/png is not a PNG")
        if any(p in line.split("//")[0] for line in cell.source.splitlines() for p in PICTURES) and not images:
            failures.append(f"{where}: draws, but no image/png arrived")
        pictures += len(images)
    print(f"ok {name}: {len(code)} code cells, {pictures} PNG pictures", flush=True)

if failures:
    print("\n".join(failures))
    sys.exit(1)
