"""Previews, comparisons, lineage, registries and runs through the app in process (no
browser): what each page shows, who may see it, and that user-supplied text is escaped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from cairn.records import RunUpdate
from cairn.server import ServerConfig
from tests.server.conftest import Server, log_version, make_server
from tests.ui.media_files import EVIL, PARQUET_NOTE, media_files
from tests.ui.test_pages import csrf_of, signed_in

ESCAPED = "&lt;script&gt;alert("


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("ui-more")
    srv = make_server(
        tmp, ServerConfig(db_url=f"sqlite:///{tmp / 'ui.db'}", store_uri=(tmp / "b").as_uri())
    )
    alice = srv.backend("alice")
    svc = srv.state.service.bind(srv.state.accounts.principal_for_key(srv.keys["alice"]))
    files = media_files()
    srv.v0 = log_version(alice, tmp, "alice", "media", "samples", files)  # type: ignore[attr-defined]
    changed = {**files, "notes.txt": b"plain text changed\n", "new.txt": b"new"}
    del changed["blob.bin"]
    changed["media/images/cat.png"] = files["media/images/cat.png"][:-4] + b"\x00\x00\x00\x00"
    srv.v1 = log_version(alice, tmp, "alice", "media", "samples", changed)  # type: ignore[attr-defined]
    from cairn.records import VersionUpdate

    svc.update_version(srv.v1.id, VersionUpdate(metadata={"note": EVIL, "rows": 2}))  # type: ignore[attr-defined]
    # Lineage: a private run in alice's secret project used a version of her public project.
    shared = log_version(alice, tmp, "alice", "open", "shared", {"s.txt": b"shared"})
    srv.shared = shared  # type: ignore[attr-defined]
    api = srv.client("alice")
    assert api.patch("/api/v1/projects/alice/open", json={"visibility": "public"}).is_success
    run = svc.create_run("alice", "secret-lab", run_id="r-secret", name="secret-run-name")
    svc.use_version("alice", "secret-lab", run.id, shared.id, None, None)
    train = svc.create_run("alice", "media", run_id="r-train", name=f"train {EVIL}")
    svc.use_version("alice", "media", train.id, srv.v0.id, None, None)  # type: ignore[attr-defined]
    from cairn.core.run_data import RunData

    RunData(svc).update(
        "alice",
        "media",
        train.id,
        RunUpdate(
            history=tuple({"_step": i, "loss": 1 / (i + 1), "acc": i / 10} for i in range(10)),
            summary={"loss": 0.1, "note": EVIL},
            config={"lr": 0.01, "name": EVIL},
        ),
    )
    yield srv
    for c in srv._open:
        c.close()
    srv.transport.close()
    srv.state.db.dispose()


def v(server: Server, name: str) -> Any:
    return getattr(server, name)


@pytest.fixture(scope="module")
def alice(server: Server) -> httpx.Client:
    return signed_in(server, "alice")


@pytest.fixture(scope="module")
def bob(server: Server) -> httpx.Client:
    return signed_in(server, "bob")


def preview(c: httpx.Client, server: Server, path: str) -> httpx.Response:
    return c.get(f"/versions/{v(server, 'v0').id}/preview/{path}")


def section(html: str) -> str:
    return html.split('id="preview"', 1)[1].split("</section>", 1)[0]


# -- previews -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "kind", "shows"),
    [
        ("notes.txt", "text", ["plain text", ESCAPED]),
        ("config.json", "text", ['data-lang="json"', "&#34;lr&#34;: 0.1", ESCAPED]),
        ("params.yaml", "text", ['data-lang="yaml"', ESCAPED]),
        ("rows.csv", "csv", ["<td>row 49</td>", "The first 50 rows"]),
        ("evil.csv", "csv", [ESCAPED]),
        ("data.parquet", "parquet", [PARQUET_NOTE]),
        ("media/images/cat.png", "image", ['<img class="preview-image"']),
        ("sound.wav", "audio", ["<audio controls"]),
        ("clip.webm", "video", ["<video controls"]),
        ("page.html", "html", ['<iframe class="html-preview" sandbox=""']),
        ("cat.image-file.json", "media-image", ["<rect", 'class="mask"', ESCAPED]),
        ("samples.table.json", "table", ['id="media-table"', "<rect", ESCAPED]),
        ("blob.bin", "none", ["a binary file"]),
    ],
)
def test_each_kind_of_file_previews(
    alice: httpx.Client, server: Server, path: str, kind: str, shows: list[str]
) -> None:
    r = preview(alice, server, path)
    assert r.status_code == 200, r.text
    assert f"preview-{kind}" in r.text
    body = section(r.text)
    for text in shows:
        assert text in body, text
    assert EVIL not in r.text


def test_a_box_is_drawn_where_the_file_puts_it(alice: httpx.Client, server: Server) -> None:
    body = section(preview(alice, server, "cat.image-file.json").text)
    # Fractions of a 64x48 image, and a pixel box given by its middle.
    rects = re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', body)
    got = [tuple(round(float(n), 3) for n in r) for r in rects]
    assert got == [(6.4, 9.6, 25.6, 28.8), (35.0, 16.0, 10.0, 8.0)]


def test_a_large_text_file_previews_its_start_only(alice: httpx.Client, server: Server) -> None:
    body = section(preview(alice, server, "big.log").text)
    assert "line 0000000" in body and "line 0059999" not in body
    assert "download the file for the rest" in body


def test_raw_bytes_answer_ranges(alice: httpx.Client, server: Server) -> None:
    url = f"/versions/{v(server, 'v0').id}/raw/blob.bin"
    whole = alice.get(url)
    assert whole.status_code == 200 and whole.content == bytes(range(256)) * 4
    assert whole.headers["accept-ranges"] == "bytes"
    part = alice.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == bytes(range(10, 20))
    assert part.headers["content-range"] == "bytes 10-19/1024"
    tail = alice.get(url, headers={"Range": "bytes=-4"})
    assert tail.content == bytes(range(252, 256))
    assert alice.get(url, headers={"Range": "bytes=5000-"}).status_code == 416


def test_an_html_file_is_served_sandboxed(alice: httpx.Client, server: Server) -> None:
    r = alice.get(f"/versions/{v(server, 'v0').id}/raw/page.html")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert csp.startswith("sandbox;") and "allow-scripts" not in csp
    assert "allow-same-origin" not in csp and "script-src" not in csp  # default-src 'none'
    assert "default-src 'none'" in csp
    assert r.headers["x-frame-options"] == "SAMEORIGIN"
    assert r.headers["x-content-type-options"] == "nosniff"
    frame = re.search(r"<iframe[^>]*>", preview(alice, server, "page.html").text)
    assert frame is not None and 'sandbox=""' in frame.group(0)


def test_unknown_types_are_not_served_as_pages(alice: httpx.Client, server: Server) -> None:
    r = alice.get(f"/versions/{v(server, 'v0').id}/raw/cat.image-file.json")
    assert r.headers["content-type"] == "application/octet-stream"


def test_an_outsider_previews_nothing(bob: httpx.Client, server: Server) -> None:
    vid = v(server, "v0").id
    for url in (f"/versions/{vid}/preview/notes.txt", f"/versions/{vid}/raw/notes.txt"):
        r = bob.get(url)
        assert r.status_code == 404
        assert "plain text" not in r.text


def test_a_missing_file_is_not_found(alice: httpx.Client, server: Server) -> None:
    r = preview(alice, server, "no/such/file.txt")
    assert r.status_code == 404


# -- comparing two versions -----------------------------------------------------------------------
def test_compare_lists_what_changed(alice: httpx.Client, server: Server) -> None:
    a, b = v(server, "v0").id, v(server, "v1").id
    r = alice.get(f"/versions/{a}/compare/{b}")
    assert r.status_code == 200, r.text
    assert "1 added" in r.text and "1 removed" in r.text and "2 changed" in r.text
    table = r.text.split('id="diff-entries"', 1)[1]
    rows = re.findall(r'<td><code>([^<]+)</code></td><td class="status-(\w+)">', table)
    assert rows == [
        ("blob.bin", "removed"),
        ("media/images/cat.png", "changed"),
        ("new.txt", "added"),
        ("notes.txt", "changed"),
    ]
    assert "metadata.note" in r.text and EVIL not in r.text and ESCAPED in r.text
    # The changed image side by side, from both versions.
    assert f'src="/versions/{a}/raw/media/images/cat.png"' in r.text
    assert f'src="/versions/{b}/raw/media/images/cat.png"' in r.text


def test_a_small_text_file_diffs_line_by_line(alice: httpx.Client, server: Server) -> None:
    a, b = v(server, "v0").id, v(server, "v1").id
    r = alice.get(f"/versions/{a}/compare/{b}/file/notes.txt")
    assert r.status_code == 200
    diff = r.text.split('id="text-diff"', 1)[1].split("</pre>", 1)[0]
    assert '<span class="del">-plain text &lt;script&gt;alert(' in diff
    assert '<span class="add">+plain text changed</span>' in diff
    assert EVIL not in r.text


def test_compare_pages_through_files(alice: httpx.Client, server: Server) -> None:
    from cairn.server.ui import compare

    a, b = v(server, "v0").id, v(server, "v1").id
    old = compare.PAGE
    compare.PAGE = 2
    try:
        first = alice.get(f"/versions/{a}/compare/{b}").text
        nxt = re.search(r'rel="next" href="([^"]+)"', first)
        assert nxt is not None
        second = alice.get(nxt.group(1).replace("&amp;", "&")).text
    finally:
        compare.PAGE = old
    assert "new.txt" in second and "notes.txt" in second and "blob.bin" not in second


def test_choosing_a_version_to_compare_with(alice: httpx.Client, server: Server) -> None:
    a, b = v(server, "v0").id, v(server, "v1").id
    r = alice.get(f"/versions/{a}/compare")
    assert f'href="/versions/{a}/compare/{b}"' in r.text
    r = alice.get(f"/versions/{a}/compare", params={"other": b}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/versions/{a}/compare/{b}"


def test_an_outsider_compares_nothing(bob: httpx.Client, server: Server) -> None:
    a, b = v(server, "v0").id, v(server, "v1").id
    for url in (f"/versions/{a}/compare/{b}", f"/versions/{a}/compare/{b}/file/notes.txt"):
        r = bob.get(url)
        assert r.status_code == 404 and "notes.txt" not in r.text.split("<main", 1)[1]


# -- lineage ------------------------------------------------------------------------------------
def test_the_lineage_graph_has_runs_and_versions(alice: httpx.Client, server: Server) -> None:
    vid = v(server, "v0").id
    page = alice.get(f"/versions/{vid}/lineage")
    assert page.status_code == 200
    assert f'data-graph-url="/versions/{vid}/lineage/graph?direction=both&amp;depth=3"' in page.text
    assert EVIL not in page.text and "train &lt;script&gt;" in page.text
    graph = alice.get(f"/versions/{vid}/lineage/graph").json()
    labels = {n["data"]["label"]: n["data"] for n in graph["nodes"]}
    assert labels["samples:v0"]["root"] is True
    run = labels[f"train {EVIL}"]  # JSON, drawn by cytoscape as text (never as HTML)
    assert run["kind"] == "run" and run["url"] == "/projects/alice/media/runs/r-train/lineage"
    assert {e["data"]["kind"] for e in graph["edges"]} == {"used"}


def test_a_run_s_lineage(alice: httpx.Client, server: Server) -> None:
    r = alice.get("/projects/alice/media/runs/r-train/lineage/graph", params={"depth": 1})
    assert r.status_code == 200
    assert {n["data"]["label"] for n in r.json()["nodes"]} == {f"train {EVIL}", "samples:v0"}
    assert alice.get("/projects/alice/media/runs/r-train/lineage").status_code == 200


def test_a_private_run_is_a_placeholder_to_an_outsider(
    alice: httpx.Client, bob: httpx.Client, server: Server
) -> None:
    # bob may read the public alice/open but not alice/secret-lab, whose run used its version.
    vid = v(server, "shared").id
    graph = bob.get(f"/versions/{vid}/lineage/graph")
    assert graph.status_code == 200, graph.text
    page = bob.get(f"/versions/{vid}/lineage")
    assert page.status_code == 200
    for text in (graph.text, page.text):
        assert "secret-run-name" not in text and "r-secret" not in text and "secret-lab" not in text
    hidden = [n["data"] for n in graph.json()["nodes"] if n["data"]["kind"] == "hidden"]
    assert hidden and all(n["label"] == "private" and n["url"] == "" for n in hidden)
    assert "private run" in page.text
    # alice sees her own run by name.
    assert "secret-run-name" in alice.get(f"/versions/{vid}/lineage/graph").text


def test_an_outsider_sees_no_lineage_of_a_private_version(
    bob: httpx.Client, server: Server
) -> None:
    r = bob.get("/projects/alice/secret-lab/runs/r-secret/lineage/graph")
    assert r.status_code == 404 and "secret-run-name" not in r.text


# -- registries and portfolios ------------------------------------------------------------------
def test_promote_to_a_registry_then_unlink(alice: httpx.Client, server: Server) -> None:
    vid = v(server, "v0").id
    form = alice.get(f"/versions/{vid}/promote")
    assert form.status_code == 200 and 'value="wandb-registry-model"' in form.text
    fields = {
        "entity": "alice",
        "project": "wandb-registry-model",
        "portfolio": "best-samples",
        "aliases": "production, candidate",
    }
    # Without the form's token: refused, nothing linked.
    assert alice.post(f"/versions/{vid}/promote", data=fields).status_code == 403
    token = csrf_of(form.text)
    r = alice.post(f"/versions/{vid}/promote", data={**fields, "csrf": token})
    assert r.status_code == 303
    assert (
        r.headers["location"]
        == "/projects/alice/wandb-registry-model/portfolios#portfolio-best-samples"
    )
    listing = alice.get("/registries").text
    assert 'href="/projects/alice/wandb-registry-model/portfolios">model</a>' in listing
    page = alice.get("/projects/alice/wandb-registry-model/portfolios").text
    assert "best-samples" in page and ">production<" in page and ">candidate<" in page
    assert "alice/media/samples:v0" in page
    link_id = re.search(r'action="/links/([^/]+)/unlink"', page)
    assert link_id is not None
    here = "/projects/alice/wandb-registry-model/portfolios"
    r = alice.post(f"/links/{link_id.group(1)}/unlink", data={"csrf": token, "next": here})
    assert r.status_code == 303 and r.headers["location"] == here
    assert "alice/media/samples:v0" not in alice.get(here).text


def test_unlink_goes_back_only_to_this_site(alice: httpx.Client, server: Server) -> None:
    from cairn.server.ui.registries import _local

    assert _local("//evil.example/x", "/registries") == "/registries"
    assert _local("https://evil.example/", "/registries") == "/registries"
    assert _local("/projects/a/b/portfolios", "/x") == "/projects/a/b/portfolios"


def test_an_outsider_cannot_promote_or_see_a_private_registry(
    alice: httpx.Client, bob: httpx.Client, server: Server
) -> None:
    vid = v(server, "v0").id
    token = csrf_of(alice.get(f"/versions/{vid}/promote").text)
    fields = {"entity": "alice", "project": "wandb-registry-data", "portfolio": "secret-pf"}
    assert alice.post(f"/versions/{vid}/promote", data={**fields, "csrf": token}).status_code == 303
    assert "wandb-registry-data" not in bob.get("/registries").text
    r = bob.get("/projects/alice/wandb-registry-data/portfolios")
    assert r.status_code == 404 and "secret-pf" not in r.text
    bob_token = csrf_of(bob.get("/registries").text)
    mine = {"entity": "bob", "project": "wandb-registry-mine", "portfolio": "stolen"}
    r = bob.post(f"/versions/{vid}/promote", data={**mine, "csrf": bob_token})
    assert r.status_code == 404  # a version bob may not read, as one that does not exist


# -- runs -----------------------------------------------------------------------------------------
def test_a_run_page_shows_config_summary_and_artifacts(alice: httpx.Client, server: Server) -> None:
    r = alice.get("/projects/alice/media/runs/r-train")
    assert r.status_code == 200, r.text
    assert EVIL not in r.text and "train &lt;script&gt;" in r.text
    config = r.text.split('id="run-config"', 1)[1].split("</div>", 1)[0]
    assert "lr" in config and "0.01" in config and ESCAPED in config
    used = r.text.split('id="run-used"', 1)[1].split("</ul>", 1)[0]
    assert 'href="/projects/alice/media/artifacts/samples/v0"' in used
    assert 'data-metrics-url="/projects/alice/media/runs/r-train/metrics"' in r.text
    runs = alice.get("/projects/alice/media/runs")
    assert 'href="/projects/alice/media/runs/r-train"' in runs.text and EVIL not in runs.text


def test_metrics_are_series_by_step(alice: httpx.Client, server: Server) -> None:
    data = alice.get("/projects/alice/media/runs/r-train/metrics").json()
    assert data["steps"] == list(range(10))
    assert data["series"]["loss"][:2] == [1.0, 0.5]
    assert data["series"]["acc"][3] == 0.3


def test_non_finite_metrics_are_gaps() -> None:
    from cairn.server.ui.runs import series

    out = series(['{"_step": 0, "loss": NaN, "x": "text"}', '{"_step": 1, "loss": 2}'])
    assert out["series"] == {"loss": [None, 2.0]}


def test_an_outsider_sees_no_private_run(bob: httpx.Client, server: Server) -> None:
    for url in (
        "/projects/alice/secret-lab/runs/r-secret",
        "/projects/alice/secret-lab/runs/r-secret/metrics",
        "/projects/alice/secret-lab/runs",
    ):
        r = bob.get(url)
        assert r.status_code == 404 and "secret-run-name" not in r.text


def test_signing_in_from_a_file_page_does_not_repeat_its_name(server: Server) -> None:
    vid = v(server, "v0").id
    for url in (f"/versions/{vid}/preview/notes.txt", f"/versions/{vid}/raw/notes.txt"):
        r = server.client().get(url)
        assert r.status_code == 401 and "Sign in" in r.text
        assert "notes.txt" not in r.text


def test_parquet_previews_its_first_rows_with_pyarrow(
    alice: httpx.Client, server: Server, tmp_path: Any
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import io

    buf = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(500)), "name": [f"n{i}" for i in range(500)]}), buf)
    ver = log_version(
        server.backend("alice"), tmp_path, "alice", "media", "pq", {"t.parquet": buf.getvalue()}
    )
    body = section(alice.get(f"/versions/{ver.id}/preview/t.parquet").text)
    assert "500 rows" in body and "<td>n49</td>" in body and "<td>n50</td>" not in body
