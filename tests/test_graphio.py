"""Graph files (graph-format.md): the shared graphs load and plan to ggml's sizes, graphs
round-trip through save/load, every kind of bad document is rejected, and mutated documents
only ever raise GgallocError."""

import copy
import json
import os

import numpy as np
import pytest
from hypothesis import given, strategies as st

import ggalloc as gg
import oracles
from testdata import DATA

GRAPHS = ["mlp-4x1024-b256", "gpt2-small-decode-1", "gpt2-small-prefill-512"]


def sizes_json(data_dir):
    with open(os.path.join(data_dir, "graphs", "ggml-sizes.json")) as f:
        return json.load(f)["graphs"]


@pytest.mark.parametrize("name", GRAPHS)
def test_shared_graphs_plan_to_ggml_sizes(name, data_dir):
    want = sizes_json(data_dir)[name]
    g = gg.load_graph(os.path.join(data_dir, "graphs", name + ".json"))
    assert (g.n_nodes, g.n_leafs) == (want["n_nodes"], want["n_leafs"])
    assert isinstance(g.context, gg.Context)
    galloc = gg.GraphAllocator(gg.host_buffer_type(32), planner="ggml")
    galloc.reserve(g)
    assert galloc.buffer_size() == want["ggml_buffer_bytes"]
    lb = galloc.lower_bound()
    assert lb <= want["ggml_buffer_bytes"]
    galloc.planner = "best"
    galloc.reserve(g)
    assert lb <= galloc.buffer_size() <= want["ggml_buffer_bytes"]
    plan = galloc.plan()
    assert plan.peak * 2 < sum(e.size for e in plan.entries)   # memory is shared
    # external tensors (weights) are never placed
    externals = {t.name for t in g.leafs if t.is_external}
    assert externals and not externals & {e.tensor for e in plan.entries}


def test_shared_graph_allocates_and_verifies(data_dir):
    g = gg.load_graph(os.path.join(data_dir, "graphs", "gpt2-small-decode-1.json"))
    for planner in ("ggml", "best"):
        galloc = gg.GraphAllocator(gg.host_buffer_type(32), planner=planner)
        galloc.alloc_graph(g)
        assert galloc.plan().verify() == 0
        assert oracles.check_plan(g) == []
        with pytest.raises(gg.ComputeError):
            gg.CPUBackend(1).compute(g)      # weights are external: no data to compute with


def test_save_and_load_round_trip(tmp_path, data_dir):
    src = os.path.join(data_dir, "graphs", "mlp-4x1024-b256.json")
    g = gg.load_graph(src)
    out = tmp_path / "copy.json"
    g.save(out)
    doc = json.loads(out.read_text())
    assert doc["format"] == "ggalloc.graph/1" and doc["name"] == "copy"
    g2 = gg.load_graph(str(out))
    sig = lambda t: (t.name, t.op, t.type, t.ne, t.nb, t.flags, t.is_view)  # noqa: E731
    assert [sig(t) for t in g2.nodes] == [sig(t) for t in g.nodes]
    assert [sig(t) for t in g2.leafs] == [sig(t) for t in g.leafs]
    sizes = []
    for graph in (g, g2):
        galloc = gg.GraphAllocator(gg.host_buffer_type(32), planner="ggml")
        galloc.reserve(graph)
        sizes.append(galloc.buffer_size())
    assert sizes[0] == sizes[1]
    gg.save_graph(g2, tmp_path / "named.json", name="mine")
    assert json.loads((tmp_path / "named.json").read_text())["name"] == "mine"


def test_python_built_graph_round_trip(tmp_path, cpu):
    with gg.Context() as ctx:
        x = ctx.tensor(np.float32, (4, 8), name="x").set_input()
        w = ctx.tensor(np.float16, (8, 8), name="w")
        y = gg.soft_max(gg.scale(gg.mul_mat(w, x), 0.5)).set_output()
        y.name = "y"
        gg.Graph(y).save(tmp_path / "g.json")
    g = gg.loads_graph((tmp_path / "g.json").read_text())
    assert [t.op for t in g.nodes] == ["MUL_MAT", "SCALE", "SOFT_MAX"]
    assert g.get_tensor("y").is_output and g.get_tensor("x").is_input
    assert g.get_tensor("w").type == "f16"
    assert g.nodes[1].op_params[0] != 0                 # the scale factor survived


def test_save_to_a_bad_path_raises(tmp_path, data_dir):
    g = gg.load_graph(os.path.join(data_dir, "graphs", "mlp-4x1024-b256.json"))
    with pytest.raises(gg.GgallocError) as e:
        g.save(tmp_path / "no" / "such" / "dir" / "g.json")
    assert e.value.log


@pytest.fixture(scope="module")
def mlp_doc(data_dir):
    with open(os.path.join(data_dir, "graphs", "mlp-4x1024-b256.json")) as f:
        return json.load(f)


def node_with_src(doc):
    return next(t for t in doc["tensors"] if t["src"])


def bad_documents(doc):
    """(what is wrong, document) for every kind of bad document graph-format.md lists."""
    out = []

    def variant(what, fn):
        d = copy.deepcopy(doc)
        fn(d)
        out.append((what, d))

    variant("format", lambda d: d.update(format="ggalloc.graph/2"))
    variant("no format", lambda d: d.pop("format"))
    variant("src id out of range", lambda d: node_with_src(d)["src"].__setitem__(0, 10_000))
    variant("negative node id", lambda d: d["nodes"].__setitem__(0, -1))
    variant("leaf id out of range", lambda d: d["leafs"].__setitem__(0, len(d["tensors"])))
    variant("view_src out of range", lambda d: d["tensors"][-1].update(view_src=999))

    def cycle(d):
        a = d["tensors"][d["nodes"][0]]
        b = d["tensors"][d["nodes"][1]]
        a["src"] = [b["id"]] + a["src"][1:]
        b["src"] = [a["id"]] + b["src"][1:]
    variant("cycle", cycle)
    variant("unknown type", lambda d: d["tensors"][0].update(type="f13"))
    variant("unknown op", lambda d: node_with_src(d).update(op="FROBNICATE"))
    variant("nbytes", lambda d: d["tensors"][0].update(nbytes=d["tensors"][0]["nbytes"] + 4))
    variant("ne not four", lambda d: d["tensors"][0].update(ne=[1024, 1024]))
    variant("tensors not a list", lambda d: d.update(tensors={}))
    variant("id mismatch", lambda d: d["tensors"][3].update(id=7))
    return out


def test_bad_documents_are_rejected(mlp_doc):
    gg.loads_graph(json.dumps(mlp_doc))                       # the original is fine
    for what, doc in bad_documents(mlp_doc):
        with pytest.raises(gg.BadGraphError) as e:
            gg.loads_graph(json.dumps(doc))
        assert e.value.log, f"{what}: the reader says why"
    for text in ["", "{", "[]", "null", '{"format": "ggalloc.graph/1"}', "\x00\xff", "{" * 100000]:
        with pytest.raises(gg.BadGraphError):
            gg.loads_graph(text)
    with pytest.raises(FileNotFoundError, match="cannot load graph"):
        gg.load_graph("/nonexistent/graph.json")


def test_bad_document_messages_name_the_field(mlp_doc):
    d = copy.deepcopy(mlp_doc)
    d["tensors"][0]["nbytes"] += 4
    with pytest.raises(gg.BadGraphError) as e:
        gg.loads_graph(json.dumps(d))
    assert "nbytes" in str(e.value)
    d = copy.deepcopy(mlp_doc)
    d["tensors"][0]["type"] = "f13"
    with pytest.raises(gg.BadGraphError) as e:
        gg.loads_graph(json.dumps(d))
    assert "f13" in str(e.value) or "type" in str(e.value)


# fuzzing ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=8)


def paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from paths(v, prefix + (i,))


@st.composite
def mutated(draw, doc):
    d = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 4))):
        all_paths = [p for p in paths(d) if p]
        if not all_paths:
            break
        path = draw(st.sampled_from(all_paths))
        parent = d
        for k in path[:-1]:
            parent = parent[k]
        kind = draw(st.sampled_from(["replace", "delete", "int", "dup"]))
        key = path[-1]
        if kind == "replace":
            parent[key] = draw(json_values)
        elif kind == "int":
            parent[key] = draw(st.sampled_from([-1, 0, 1, 2, 7, 20, 21, 2**31, 2**63 - 1, -2**63]))
        elif kind == "delete":
            if isinstance(parent, dict):
                del parent[key]
            else:
                parent.pop(key)
        else:
            if isinstance(parent, list):
                parent.append(copy.deepcopy(parent[key]))
    text = json.dumps(d)
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(text)))
        pos = draw(st.integers(0, len(text)))
        junk = draw(st.text(max_size=3))
        text = text[:pos] + junk + text[pos + cut // 50:]
    return text


def small_doc(data_dir):
    with open(os.path.join(data_dir, "graphs", "mlp-4x1024-b256.json")) as f:
        return json.load(f)


_DOC = small_doc(DATA)


@given(mutated(_DOC))
def test_fuzzed_documents_only_raise_ggalloc_errors(text):
    try:
        g = gg.loads_graph(text)
    except gg.GgallocError:
        return
    # a document that loads must also plan without anything but GgallocError
    try:
        galloc = gg.GraphAllocator(gg.host_buffer_type(32), planner="ggml")
        galloc.reserve(g)
        galloc.alloc_graph(g)
    except gg.GgallocError:
        return
    assert oracles.check_plan(g) == []


@given(st.binary(max_size=200))
def test_random_bytes_only_raise_ggalloc_errors(data):
    try:
        gg.loads_graph(data)
    except gg.GgallocError:
        pass


def test_tensors_keep_their_rank_through_graph_files(tmp_path):
    ctx = gg.Context()
    x = ctx.tensor(np.float32, (1, 256), name="x").set_input()
    w = ctx.tensor(np.float32, (512, 256), name="w")
    y = gg.gelu(gg.mul_mat(w, x)).set_output()                  # (1, 512)
    s = gg.sum(y).set_output()                                   # ()
    g = gg.Graph(y, s)
    path = tmp_path / "ranks.json"
    g.save(path)
    g2 = gg.load_graph(path)
    by_name = {t.name: t for t in g2.context.tensors()}
    assert by_name["x"].shape == (1, 256)
    assert by_name["w"].shape == (512, 256)
    assert g2.nodes[-1].shape == () and g2.nodes[-2].shape == y.shape == (1, 512)
    # documents without ranks load as ggml's extents say (the shared graphs have none)
    with open(path) as f:
        doc = json.load(f)
    for t in doc["tensors"]:
        t.pop("ndim", None)
    g3 = gg.loads_graph(json.dumps(doc))
    assert {t.name: t for t in g3.context.tensors()}["x"].shape == (256,)
    # a rank that hides an extent is refused
    (wdoc,) = [t for t in doc["tensors"] if t["name"] == "w"]
    wdoc["ndim"] = 1                                             # w is (512, 256)
    with pytest.raises(gg.BadGraphError, match="ndim 1, but ne.1. = 512"):
        gg.loads_graph(json.dumps(doc))
