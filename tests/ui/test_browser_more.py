"""End to end in Chromium: every preview kind, comparing two versions, following the lineage
graph by clicking a node, promoting to a registry and unlinking, a run's charts, and an
outsider who sees none of a private project (a private run in a public version's lineage is a
placeholder). Screenshots for the README go to docs/screenshots/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from cairn.backend.http import HttpBackend
from cairn.config import Settings
from cairn.records import RunUpdate
from tests.ui.conftest import Site, log, shot
from tests.ui.media_files import EVIL, PARQUET_NOTE, media_files
from tests.ui.test_browser import sign_in_with_key

pytestmark = pytest.mark.slow

SAMPLES = ("alice", "media", "samples", "dataset")


@dataclass
class Media:
    site: Site
    v0: Any
    v1: Any
    shared: Any

    @property
    def url(self) -> str:
        return self.site.url


@pytest.fixture(scope="session")
def media(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Media:
    """alice/media (private): two versions of every preview kind, a training run that used the
    first and logged the second; alice/open (public), whose version a run of the private
    alice/secret-plans used."""
    tmp = tmp_path_factory.mktemp("ui-media")
    backend = HttpBackend(Settings.resolve(base_url=site.url, api_key=site.keys["alice"]))
    files = media_files()
    v0 = log(backend, tmp, SAMPLES, files)
    changed = {**files, "notes.txt": b"plain text, changed\nand a second line\n"}
    changed["new.txt"] = b"a new file"
    del changed["blob.bin"]
    from tests.ui.media_files import png

    changed["media/images/cat.png"] = png(64, 48, (40, 90, 200))
    run = backend.create_run("alice", "media", run_id="train-1", name="train", job_type="train")
    backend.use_version("alice", "media", run.id, v0.id)
    backend.update_run(
        "alice",
        "media",
        run.id,
        RunUpdate(
            history=tuple(
                {"_step": i, "loss": 2 / (i + 1), "accuracy": min(1.0, i / 40)} for i in range(60)
            ),
            summary={"loss": 0.03, "accuracy": 1.0},
            config={"lr": 0.001, "epochs": 60, "model": {"layers": 4, "name": EVIL}},
        ),
    )
    v1 = log(backend, tmp, SAMPLES, changed, run_id=run.id)
    shared = log(backend, tmp, ("alice", "open", "shared-data", "dataset"), {"s.txt": b"shared"})
    _public(site, "alice", "open")
    secret = backend.create_run(
        "alice", "secret-plans", run_id="classified", name="launch-rehearsal"
    )
    backend.use_version("alice", "secret-plans", secret.id, shared.id)
    backend.close()
    return Media(site, v0, v1, shared)


def _public(site: Site, entity: str, project: str) -> None:
    import httpx

    r = httpx.patch(
        f"{site.url}/api/v1/projects/{entity}/{project}",
        json={"visibility": "public"},
        headers={"Authorization": f"Bearer {site.keys['alice']}"},
    )
    r.raise_for_status()


def preview(page: Any, media: Media, path: str) -> None:
    page.goto(f"{media.url}/versions/{media.v0.id}/preview/{path}")
    page.wait_for_selector("#preview")


def test_each_preview_kind(page: Any, media: Media) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in_with_key(page, media.site, "alice")
    # From the version's file list to a preview.
    page.goto(f"{media.url}/projects/alice/media/artifacts/samples/v0")
    page.click("#files a.preview-link:text-is('config.json')")
    page.wait_for_selector("#preview code.hljs")  # highlighted by highlight.js
    assert page.locator("#preview .hljs-attr").count() >= 2
    shot(page, "preview-json")
    preview(page, media, "params.yaml")
    page.wait_for_selector("#preview code.hljs")
    preview(page, media, "notes.txt")
    assert EVIL in page.locator("#preview pre").inner_text()  # shown as text, never run
    preview(page, media, "rows.csv")
    assert page.locator("#csv-preview tbody tr").count() == 50
    preview(page, media, "data.parquet")
    assert PARQUET_NOTE in page.locator("#preview").inner_text()
    preview(page, media, "media/images/cat.png")
    assert page.eval_on_selector("img.preview-image", "i => i.complete && i.naturalWidth") == 64
    preview(page, media, "sound.wav")
    page.wait_for_function("() => document.querySelector('audio').readyState >= 1")
    assert page.eval_on_selector("audio", "a => a.duration") == pytest.approx(0.5, abs=0.01)
    preview(page, media, "clip.webm")
    assert page.locator("#preview video[controls]").count() == 1
    # HTML: drawn in a sandboxed frame, its script never runs.
    preview(page, media, "page.html")
    frame = page.frame_locator("iframe.html-preview")
    assert frame.locator("h1").inner_text() == "Hello"
    assert page.get_attribute("iframe.html-preview", "sandbox") == ""
    # Chromium says it refused the file's script; that is the only console error expected.
    blocked = [p for p in page.problems if "Blocked script execution" in p]
    assert len(blocked) == 1 and "/raw/page.html" in blocked[0], page.problems
    page.problems.remove(blocked[0])
    shot(page, "preview-html")
    # A W&B Image: two boxes drawn over it and its mask coloured in.
    preview(page, media, "cat.image-file.json")
    assert page.locator("svg.boxes rect").count() == 2
    page.wait_for_selector("canvas.mask[data-drawn='true']")
    shot(page, "preview-image-boxes")
    # A W&B Table: sortable, its images inline.
    preview(page, media, "samples.table.json")
    ids = page.locator("#media-table tbody tr td:first-child")
    assert ids.all_inner_texts() == ["2", "10", "1"]
    page.click("#media-table th button:text-is('id')")
    assert ids.all_inner_texts() == ["1", "2", "10"]  # as numbers
    page.click("#media-table th button:text-is('id')")
    assert ids.all_inner_texts() == ["10", "2", "1"]
    assert page.locator("#media-table img").count() == 2
    shot(page, "preview-table")
    assert not dialogs, dialogs
    assert not page.problems, page.problems


def test_compare_two_versions(page: Any, media: Media) -> None:
    sign_in_with_key(page, media.site, "alice")
    page.goto(f"{media.url}/projects/alice/media/artifacts/samples/v0")
    page.click("text=Compare with another version")
    page.click(".compare-choices a:text-is('samples:v1')")
    page.wait_for_selector("#diff-entries")
    counts = page.locator("#counts").inner_text()
    assert "1 added" in counts and "1 removed" in counts and "2 changed" in counts
    page.wait_for_function(
        "() => [...document.querySelectorAll('.side-by-side img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(page, "compare", full_page=True)
    page.click("#diff-entries tr:has-text('notes.txt') >> text=Diff")
    page.wait_for_selector("#text-diff")
    assert page.locator("#text-diff .add").count() == 2
    assert page.locator("#text-diff .del").count() == 1
    shot(page, "compare-text")
    assert not page.problems, page.problems


def test_follow_the_lineage_graph(page: Any, media: Media) -> None:
    sign_in_with_key(page, media.site, "alice")
    page.goto(f"{media.url}/projects/alice/media/artifacts/samples/v0")
    page.click("text=Lineage graph")
    page.wait_for_selector("#lineage-graph[data-ready='true']")
    nodes = page.evaluate("window.cairnLineage.nodes().map(n => n.data('label'))")
    assert sorted(nodes) == ["samples:v0", "samples:v1", "train"]
    # Laid out left to right: what the run used, the run, what it logged.
    xs = page.evaluate(
        "Object.fromEntries(window.cairnLineage.nodes()"
        ".map(n => [n.data('label'), n.position('x')]))"
    )
    assert xs["samples:v0"] < xs["train"] < xs["samples:v1"]
    shot(page, "lineage")
    # Click the run's node: its own lineage opens.
    box = page.locator("#lineage-graph").bounding_box()
    where = page.evaluate(
        "window.cairnLineage.nodes().filter(n => n.data('label') === 'train')[0].renderedPosition()"
    )
    page.mouse.click(box["x"] + where["x"], box["y"] + where["y"])
    page.wait_for_url(re.compile(r"/projects/alice/media/runs/train-1/lineage"))
    page.wait_for_selector("#lineage-graph[data-ready='true']")
    assert "Lineage of run train" in page.locator("h1").inner_text()
    assert not page.problems, page.problems


def test_a_run_page_charts_its_metrics(page: Any, media: Media) -> None:
    sign_in_with_key(page, media.site, "alice")
    page.goto(f"{media.url}/projects/alice/media/artifacts/samples/v1")
    page.click("#main a:has-text('train-1')")  # the run that logged it
    page.wait_for_selector("#charts[data-ready='true']")
    assert page.locator("#charts figure.chart").count() == 2
    assert page.locator("#charts canvas").count() == 2
    assert "samples:v0" in page.locator("#run-used").inner_text()
    assert "samples:v1" in page.locator("#run-logged").inner_text()
    assert "<script>alert(" in page.locator("#run-config").inner_text()  # as text
    shot(page, "run", full_page=True)
    assert not page.problems, page.problems


def test_promote_to_a_registry_and_unlink(page: Any, media: Media) -> None:
    sign_in_with_key(page, media.site, "alice")
    page.goto(f"{media.url}/projects/alice/media/artifacts/samples/v1")
    page.click("text=Promote to a registry")
    page.fill("#promote-portfolio", "golden-samples")
    page.fill("#promote-aliases", "production")
    page.click("#promote-form button[type=submit]")
    page.wait_for_selector("#portfolio-golden-samples")
    section = page.locator("#portfolio-golden-samples")
    assert "production" in section.inner_text()
    assert "alice/media/samples:v1" in section.inner_text()
    page.click("nav >> text=Registries")
    page.click("#registries a:text-is('model')")
    page.wait_for_selector("#portfolio-golden-samples")
    shot(page, "registry")
    page.click("#portfolio-golden-samples button:has-text('Unlink')")
    page.wait_for_load_state()
    assert page.locator("#portfolio-golden-samples").count() == 0 or (
        "alice/media/samples:v1" not in page.locator("#portfolio-golden-samples").inner_text()
    )
    assert not page.problems, page.problems


def test_an_outsider_sees_none_of_a_private_project(page: Any, media: Media) -> None:
    sign_in_with_key(page, media.site, "eve")
    for url in (
        f"/versions/{media.v0.id}/preview/notes.txt",
        f"/versions/{media.v0.id}/compare/{media.v1.id}",
        f"/versions/{media.v0.id}/lineage",
        "/projects/alice/media/runs/train-1",
        "/projects/alice/secret-plans/runs/classified/lineage",
    ):
        page.goto(media.url + url)
        assert page.locator("h1").inner_text() == "Not found", url
        assert "plain text" not in page.content() and "launch-rehearsal" not in page.content()
    # A public version's lineage: the private run that used it is a placeholder.
    page.goto(f"{media.url}/versions/{media.shared.id}/lineage")
    page.wait_for_selector("#lineage-graph[data-ready='true']")
    kinds = page.evaluate("window.cairnLineage.nodes().map(n => [n.data('kind'), n.data('label')])")
    assert ["hidden", "private"] in kinds
    for name in ("classified", "launch-rehearsal", "secret-plans"):
        assert name not in page.content()
    page.goto(media.url + "/registries")
    assert page.locator("#registries").count() == 0  # alice's registry is not listed
    shot(page, "lineage-outsider")
    unexpected = [p for p in page.problems if "status of 404" not in p]  # the pages refused
    assert not unexpected, unexpected


def test_pages_fit_a_phone(browser: Any, media: Media) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in_with_key(page, media.site, "alice")
    a, b = media.v0.id, media.v1.id
    for url in (
        f"/versions/{a}/preview/samples.table.json",
        f"/versions/{a}/preview/rows.csv",
        f"/versions/{a}/preview/config.json",
        f"/versions/{a}/compare/{b}",
        f"/versions/{a}/compare/{b}/file/notes.txt",
        f"/versions/{a}/lineage",
        f"/versions/{a}/promote",
        "/projects/alice/media/runs/train-1",
        "/registries",
    ):
        page.goto(media.url + url)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{url} scrolls sideways by {overflow}px at phone width"
    context.close()
