"""Every code example of the W&B spec documents runs unchanged with ``import cairn as wandb``.

The examples are read from the markdown files themselves, so a new example is a new test:

* fenced ```` ```python ```` blocks that parse as Python are **examples**; each runs after the
  blocks before it in the same document (they read as one session: ``run`` from the first block
  is used by the later ones), in a folder holding the small files they name (:data:`FILES`);
* fenced blocks that are call signatures (``download(root: ... = None, ...) -> str``) are
  **signatures**: the parameters' names, order and defaults must be Cairn's;
* ``construct-an-artifact.md`` is a page saved without fences, so its examples are cut out by the
  line ranges in :data:`UNFENCED`; a test checks that every code-looking line of that page falls in
  one of them, so no example can be missed there either.

Placeholders are filled in two documented ways, never by editing what an example does:
:data:`FILES` and :data:`SETUP` create the local files and logged artifacts the examples name, and
:data:`SUBSTITUTE` replaces the bracketed placeholders (``[NAME]``) and stand-in names (``path``,
``uri``) an example leaves for the reader, per example. :data:`RAISES` lists examples that W&B 0.31
itself refuses, with the error both raise; :data:`NEEDS` marks, strict-xfail, examples that need a
feature not built yet (the integrator flips them when it lands); :data:`ELSEWHERE` names the test
that runs an example needing heavy machinery. No example needs a cloud bucket.

``artifact-public-api-legacy.md`` holds no examples, only the signatures of W&B's older public-API
class (in HTML ``<pre>`` blocks, with older parameter names such as ``add_file(path, ...)``);
Cairn follows the current ``Artifact``, whose signatures are checked from the class reference.

The documents live outside the repository (``../shared/spec`` from it, or ``$CAIRN_SPEC_DIR``);
without them this module is skipped, saying so.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import cairn

ROOT = Path(__file__).resolve().parent.parent


def _spec_dir() -> Path | None:
    # ../shared/spec from the repository, or from the folder holding it (a git worktree).
    candidates = [os.environ.get("CAIRN_SPEC_DIR"), *(p / "shared" / "spec" for p in ROOT.parents)]
    for c in candidates[:3]:
        if c and (Path(c) / "artifacts-api-guide.md").is_file():
            return Path(c)
    return None


SPEC = _spec_dir()
pytestmark = [
    pytest.mark.skipif(
        SPEC is None, reason="the spec documents (../shared/spec or $CAIRN_SPEC_DIR) are not here"
    ),
    # The guide calls the deprecated get_path(), as W&B code still does.
    pytest.mark.filterwarnings("ignore:Artifact.get_path is deprecated:DeprecationWarning"),
]

# -- extraction ----------------------------------------------------------------------------------
# construct-an-artifact.md: 1-based, inclusive line ranges of its code (the page has no fences).
UNFENCED = {
    "construct-an-artifact.md": [
        (19, 22),  # 0: create an artifact object
        (27, 27),  # 1: add a file
        (29, 29),  # 2: add a directory
        (35, 36),  # 3: log it
        (41, 48),  # 4: putting it all together
        (51, 60),  # 5: log_artifact in a loop
        (79, 85),  # 6: add a single file
        (87, 87),  # 7
        (91, 94),  # 8: ... under another name
        (107, 113),  # 9: add a directory
        (131, 132),  # 10: add a URI reference
        (157, 213),  # 11: parallel writers with Ray
        (218, 231),  # 12: list a run's files
    ]
}


@dataclass(frozen=True)
class Block:
    doc: str
    index: int
    line: int
    code: str
    pydoc: bool = False  # written as ` | name(args)`: a signature, even when it parses

    @property
    def id(self) -> str:
        return f"{self.doc}#{self.index}"

    def is_example(self) -> bool:
        if self.pydoc:
            return False
        try:
            ast.parse(self.code)
        except SyntaxError:
            return False
        return True


def _blocks(doc: str) -> list[Block]:
    assert SPEC is not None
    text = (SPEC / doc).read_text()
    if doc in UNFENCED:
        lines = text.splitlines()
        return [
            Block(doc, i, a, textwrap.dedent("\n".join(lines[a - 1 : b])) + "\n")
            for i, (a, b) in enumerate(UNFENCED[doc])
        ]
    out = []
    for i, m in enumerate(re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)):
        pydoc = re.match(r"^ \| ", m.group(1)) is not None
        code = textwrap.dedent(re.sub(r"^ \| ?", "", m.group(1), flags=re.M))
        out.append(Block(doc, i, text[: m.start()].count("\n") + 1, code, pydoc))
    return out


DOCS = [
    "artifacts-api-guide.md",
    "construct-an-artifact.md",
    "artifact-class-reference.md",
    "sdk-artifacts-module.md",
]
ALL = [b for d in DOCS for b in _blocks(d)] if SPEC is not None else []
EXAMPLES = [b for b in ALL if b.is_example()]
SIGNATURES = [b for b in ALL if not b.is_example()]

# -- placeholders --------------------------------------------------------------------------------
# Small local files the examples name, created in the working folder of every example.
FILES = {
    "bicycle-data.h5": b"bikes\n",
    "model.h5": b"weights\n",
    "hello.txt": b"hello\n",
    "images/cat.png": b"cat\n",
    "images/dog.png": b"dog\n",
    "checkpoints/model.h5": b"checkpoint\n",
    "path/to/file.txt": b"file\n",
    "path/to/directory/a.txt": b"a\n",
    "path/file.format": b"format\n",
}

# Per example: (text, replacement) pairs for the placeholders it leaves to the reader.
SUBSTITUTE: dict[str, list[tuple[str, str]]] = {
    # `path` stands for a file in one call and for a folder in the next; `uri` for any URI.
    "artifacts-api-guide.md#8": [
        ("add_file(path,", "add_file('model.h5',"),
        ("add_dir(path,", "add_dir('images',"),
        ("new_file(name)", "new_file('hello.txt')"),
        ("add_reference(uri,", "add_reference(MODEL_URI,"),
    ],
    "artifacts-api-guide.md#9": [("add_reference(uri,", "add_reference(MODEL_URI,")],
    "artifacts-api-guide.md#13": [("get_path(name)", "get_path('bicycle-data.h5')")],
    "construct-an-artifact.md#0": [('"[NAME]"', '"my-artifact"'), ('"[TYPE]"', '"dataset"')],
    "construct-an-artifact.md#1": [('name="[NAME]"', 'name="file.txt"')],
    "construct-an-artifact.md#2": [('name="[NAME]"', 'name="directory"')],
    "construct-an-artifact.md#3": [('"[PROJECT]"', '"my-project"'), ('"[JOB-TYPE]"', '"upload"')],
    "construct-an-artifact.md#4": [
        ('name="[NAME]", type="[TYPE]"', 'name="my-artifact", type="dataset"'),
        ('file.txt", name="[NAME]"', 'file.txt", name="file.txt"'),
        ('directory", name="[NAME]"', 'directory", name="directory"'),
        ('"[PROJECT]"', '"my-project"'),
        ('"[JOB-TYPE]"', '"upload"'),
    ],
    "construct-an-artifact.md#6": [('"[NAME]"', '"my-artifact"'), ('"[TYPE]"', '"dataset"')],
    "construct-an-artifact.md#9": [('"[NAME]"', '"my-artifact"'), ('"[TYPE]"', '"dataset"')],
    "construct-an-artifact.md#10": [('uri="uri"', "uri=MODEL_URI")],
    "construct-an-artifact.md#12": [('"[ENTITY/PROJECT/RUN-ID]"', "RUN_PATH")],
}


def _log(entity: str | None, project: str, name: str, aliases: list[str]) -> None:
    art = cairn.Artifact(name, type="model")
    art.add_file("model.h5")
    with cairn.init(entity=entity, project=project, job_type="setup") as run:
        run.log_artifact(art, aliases=aliases).wait()


def _other_projects() -> None:
    # 'my-project/bike-model:v0' and 'my-entity/my-project/bike-model:v0'
    _log(None, "my-project", "bike-model", [])
    _log("my-entity", "my-project", "bike-model", [])


# Logged artifacts an example reads that no earlier example of its document logs.
SETUP: dict[str, Callable[[], None]] = {
    "artifacts-api-guide.md#3": _other_projects,
    # 'entity/project/artifact:alias', the guide's own placeholders, as real names
    "artifacts-api-guide.md#15": lambda: _log("entity", "project", "artifact", ["alias"]),
}

# Examples W&B 0.31 refuses too, and what both raise.
RAISES: dict[str, tuple[type[BaseException], str]] = {
    "artifacts-api-guide.md#10": (
        TypeError,
        "a signature written as a call: use_artifact has no `artifact` keyword in W&B either",
    ),
    "artifacts-api-guide.md#14": (
        TypeError,
        "Artifact('reference model') gives no type, which W&B requires too",
    ),
}

# Examples needing a feature another part of the work builds: strict xfail until it lands.
NEEDS: dict[str, str] = {
    # Api().run(...) with a run's uploaded files (wandb.apis.public.files.Files): run files are
    # not stored by Cairn; the example also reads an `api` it never defines.
    "construct-an-artifact.md#12": "run files (wandb.apis.public.files) are not built",
}

# Examples another test runs as written, because they need machinery too slow to start twice.
ELSEWHERE: dict[str, str] = {
    "construct-an-artifact.md#11": "tests/sdk/test_ray_writers.py",  # starts a Ray cluster
}


def _paths(art: Any) -> set[str]:
    return set(art.manifest.entries)


def _guide_logged(ns: dict[str, Any]) -> None:
    assert ns["artifact"].wait().version == "v0"


def _guide_contents(ns: dict[str, Any]) -> None:
    assert _paths(ns["artifact"]) == {
        "optional-name",
        "optional-prefix/cat.png",
        "optional-prefix/dog.png",
        "hello.txt",
    }


def _guide_download(ns: dict[str, Any]) -> None:
    assert os.path.isabs(ns["datadir"])
    assert os.listdir(ns["datadir"]) == ["bicycle-data.h5"]


def _guide_update(ns: dict[str, Any]) -> None:
    art = cairn.Api().artifact("bike-dataset:replaced")
    assert art.aliases == ["replaced"]  # `latest` removed, then every alias replaced
    assert art.description == "My new description"
    assert art.metadata == {"newKey": "new value"}


def _construct_logged(ns: dict[str, Any]) -> None:
    art = cairn.Api().artifact("my-project/my-artifact:latest")
    assert _paths(art) == {"file.txt", "directory/a.txt"}


def _construct_renamed(ns: dict[str, Any]) -> None:
    assert _paths(ns["artifact"]) == {"file.format", "hello.txt", "new/path/hello_world.txt"}


# What the documents say an example leaves behind, checked after it runs.
CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "artifacts-api-guide.md#1": _guide_logged,
    "artifacts-api-guide.md#8": _guide_contents,
    "artifacts-api-guide.md#12": _guide_download,
    "artifacts-api-guide.md#16": _guide_update,
    "construct-an-artifact.md#4": _construct_logged,
    "construct-an-artifact.md#8": _construct_renamed,
}


# -- running -------------------------------------------------------------------------------------
def _prepare(tmp: Path) -> dict[str, Any]:
    for rel, data in FILES.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return {"MODEL_URI": (tmp / "model.h5").as_uri(), "RUN_PATH": "no/such/run"}


def _source(block: Block) -> str:
    code = block.code
    for old, new in SUBSTITUTE.get(block.id, []):
        assert old in code, f"{block.id}: placeholder {old!r} is no longer in the example"
        code = code.replace(old, new)
    return code


def _run(block: Block, namespace: dict[str, Any]) -> None:
    exec(compile(_source(block), f"<{block.id}>", "exec"), namespace)


def _session(block: Block, tmp: Path) -> dict[str, Any]:
    """A namespace in which every earlier example of the document has run.

    The :data:`SETUP` of those examples and of ``block`` runs first, outside any run of theirs.
    """
    namespace: dict[str, Any] = {"wandb": cairn, **_prepare(tmp)}
    for b in EXAMPLES:
        if b.doc == block.doc and b.index <= block.index and b.id in SETUP:
            SETUP[b.id]()
    for earlier in EXAMPLES:
        if earlier.doc != block.doc or earlier.index >= block.index:
            continue
        if earlier.id in RAISES or earlier.id in NEEDS or earlier.id in ELSEWHERE:
            continue
        _run(earlier, namespace)
    return namespace


def _marks(block: Block) -> list[pytest.MarkDecorator]:
    if block.id in NEEDS:
        return [pytest.mark.xfail(strict=True, reason=NEEDS[block.id])]
    return []


@pytest.fixture
def wandb_is_cairn(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import wandb`` inside an example imports Cairn (W&B itself is not installed)."""
    monkeypatch.setitem(sys.modules, "wandb", cairn)
    monkeypatch.setenv("CAIRN_ARTIFACT_DIR", "artifacts")


@pytest.mark.usefixtures("wandb_is_cairn")
@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b, id=b.id, marks=_marks(b))
        for b in EXAMPLES
        if b.id not in ELSEWHERE and b.id not in RAISES
    ],
)
def test_example_runs(block: Block, tmp_path: Path) -> None:
    namespace = _session(block, tmp_path)
    _run(block, namespace)
    if block.id in CHECKS:
        CHECKS[block.id](namespace)


@pytest.mark.usefixtures("wandb_is_cairn")
@pytest.mark.parametrize("block", [b for b in EXAMPLES if b.id in RAISES], ids=lambda b: b.id)
def test_example_raises_as_in_wandb(block: Block, tmp_path: Path) -> None:
    namespace = _session(block, tmp_path)
    with pytest.raises(RAISES[block.id][0]):
        _run(block, namespace)


def _statements(source: str) -> set[str]:
    """Every simple statement of ``source``, normalised (docstrings, imports, ray.init left out)."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.stmt) and not hasattr(node, "body"):
            text = ast.unparse(node)
            if not text.startswith("ray.init("):
                out.add(text)
    return out


@pytest.mark.parametrize("block", [b for b in EXAMPLES if b.id in ELSEWHERE], ids=lambda b: b.id)
def test_example_run_elsewhere_is_that_example(block: Block) -> None:
    """Every statement of the example is a statement of the test said to run it."""
    other = (ROOT / ELSEWHERE[block.id]).read_text()
    assert _statements(block.code) - _statements(other) == set()


def test_every_table_entry_names_an_example() -> None:
    """Every key of the tables above names an example that exists (no stale entry)."""
    ids = {b.id for b in EXAMPLES}
    for table in (SUBSTITUTE, SETUP, RAISES, NEEDS, ELSEWHERE, CHECKS):
        assert set(table) <= ids, set(table) - ids


def test_unfenced_ranges_cover_every_code_line() -> None:
    """Lines of construct-an-artifact.md that start like code are all inside a range, except the
    rows of its "API call → resulting contents" tables."""
    assert SPEC is not None
    starts = ("import ", "from ", "with wandb", "artifact.", "run.", "@ray", "wandb.", "# ")
    for doc, ranges in UNFENCED.items():
        lines = (SPEC / doc).read_text().splitlines()
        covered = {n for a, b in ranges for n in range(a, b + 1)}
        in_table = False
        for n, line in enumerate(lines, start=1):
            if line.startswith("API call"):
                in_table = True
            elif in_table and " " in line and not line.startswith("artifact."):
                in_table = False  # a table ends at the next line of prose
            if line.startswith(starts) and not in_table:
                assert n in covered, f"{doc}:{n} looks like code outside every range: {line!r}"
        for block in _blocks(doc):
            assert block.is_example(), f"{block.id} (line {block.line}) does not parse"


# -- signatures ----------------------------------------------------------------------------------
# Which Cairn object a documented class stands for; None: a W&B internal Cairn does not expose.
OWNERS: dict[str, Any] = {
    "Artifact": cairn.Artifact,
    "ArtifactManifestV1": cairn.manifest.Manifest,
    # W&B's storage handlers are internal classes; Cairn's per-scheme handlers
    # (cairn.references) keep the behaviour behind their own protocol, tested in
    # tests/references.
    "TrackingHandler": None,
    "LocalFileHandler": None,
    "WBArtifactHandler": None,
}


def _signature_targets() -> list[tuple[str, str, str, str]]:
    """(id, owner class, method, signature text) for every signature block."""
    out = []
    owner = "Artifact"  # the class reference documents Artifact throughout
    for b in SIGNATURES:
        head = b.code.strip()
        if m := re.match(r"class (\w+)", head):
            owner = m.group(1)
            out.append((b.id, owner, "", head))
            continue
        body = "\n".join(ln for ln in head.splitlines() if not ln.startswith("@"))
        name = re.match(r"(\w+)\(", body)
        assert name is not None, f"{b.id}: neither an example nor a signature:\n{b.code}"
        method = name.group(1)
        if method == owner:
            method = "__init__"
        out.append((b.id, owner, method, body))
    return out


def _documented(sig: str) -> list[tuple[str, Any]]:
    """[(parameter, default or ...)] of a ``name(params) -> ret`` text."""
    params = sig[sig.index("(") : sig.rindex(")") + 1]
    fn = ast.parse(f"def f{params}: pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    args = fn.args.args
    defaults = [...] * (len(args) - len(fn.args.defaults)) + [
        ast.literal_eval(d) for d in fn.args.defaults
    ]
    return [(a.arg, d) for a, d in zip(args, defaults, strict=True) if a.arg != "self"]


@pytest.mark.parametrize(
    ("owner", "method", "sig"),
    [pytest.param(o, m, s, id=i) for i, o, m, s in _signature_targets()],
)
def test_documented_signature_is_cairns(owner: str, method: str, sig: str) -> None:
    assert owner in OWNERS, f"documented class {owner} is not mapped to Cairn"
    target = OWNERS[owner]
    if target is None or not method:
        return  # a W&B internal class, or the class line itself (its methods are checked)
    import inspect

    attr = inspect.getattr_static(target, method)
    if isinstance(attr, property):
        assert attr.fget is not None
        return
    ours = inspect.signature(getattr(target, method))
    documented = _documented(sig)
    params = [p for p in ours.parameters.values() if p.name != "self"]
    # Cairn may take more (newer W&B keywords), but the documented ones come first, the same.
    assert [p.name for p in params[: len(documented)]] == [n for n, _ in documented]
    for (name, default), p in zip(documented, params, strict=False):
        if default is not ...:
            assert p.default == default, f"{method}({name}=...): {p.default!r} != {default!r}"
