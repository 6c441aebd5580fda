"""Graph files that assign nodes and leafs to buffers (node_buffer_ids / leaf_buffer_ids): the
loader gives the lists, save writes them, and ``python3 -m ggalloc plan`` plans such a file with
reserve_n over as many buffers as the ids name."""

import json

import pytest

import ggalloc as gg
from ggalloc import cli, report

MAT = 256 * 64 * 4  # bytes of one [64, 256] f32 activation


def tensor(i, name, ne, op="NONE", src=(), flags=(), external=False, unary=None, op_params=()):
    nb = [4, 4 * ne[0], 4 * ne[0] * ne[1], 4 * ne[0] * ne[1] * ne[2]]
    t = {"id": i, "name": name, "type": "f32", "ne": list(ne), "nb": nb, "op": op,
         "op_params": list(op_params), "src": list(src), "view_src": None, "view_offs": 0,
         "flags": list(flags), "external": external, "nbytes": nb[3] * ne[3]}
    if unary:
        t["unary"] = unary
    return t


def two_buffer_doc(node_ids=(0, 0, 1, 1, 1), leaf_ids=(0, 0)):
    """x -> mul_mat(w, x) -> relu -> mul_mat(w, .) -> gelu -> + x: the first two nodes in
    buffer 0 with the input, the last three in buffer 1."""
    act = [256, 64, 1, 1]
    doc = {
        "format": "ggalloc.graph/1", "name": "two-buffers", "source": "written by hand for the tests",
        "tensors": [
            tensor(0, "w", [256, 256, 1, 1], external=True),
            tensor(1, "x", act, flags=["input"]),
            tensor(2, "mm0", act, "MUL_MAT", [0, 1]),
            tensor(3, "h", act, "UNARY", [2], unary="RELU", op_params=[6]),
            tensor(4, "mm1", act, "MUL_MAT", [0, 3]),
            tensor(5, "y", act, "UNARY", [4], unary="GELU", op_params=[8]),
            tensor(6, "z", act, "ADD", [5, 1], flags=["output"]),
        ],
        "nodes": [2, 3, 4, 5, 6],
        "leafs": [0, 1],
        "node_buffer_ids": None if node_ids is None else list(node_ids),
        "leaf_buffer_ids": None if leaf_ids is None else list(leaf_ids),
    }
    return doc


def write(tmp_path, doc, name="two-buffers.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_load_gives_the_buffer_ids(tmp_path):
    g = gg.load_graph(write(tmp_path, two_buffer_doc()))
    assert g.node_buffer_ids == [0, 0, 1, 1, 1]
    assert g.leaf_buffer_ids == [0, 0]
    g2 = gg.loads_graph(json.dumps(two_buffer_doc(leaf_ids=None)))
    assert g2.node_buffer_ids == [0, 0, 1, 1, 1] and g2.leaf_buffer_ids is None
    doc = two_buffer_doc(None, None)
    g3 = gg.loads_graph(json.dumps(doc))
    assert g3.node_buffer_ids is None and g3.leaf_buffer_ids is None
    del doc["node_buffer_ids"], doc["leaf_buffer_ids"]          # the fields are optional
    assert gg.loads_graph(json.dumps(doc)).node_buffer_ids is None
    # A graph built in Python has none.
    with gg.Context() as ctx:
        assert gg.Graph(gg.relu(ctx.tensor("f32", (4,)))).node_buffer_ids is None


def test_bad_buffer_ids_are_rejected(tmp_path):
    with pytest.raises(gg.BadGraphError):
        gg.loads_graph(json.dumps(two_buffer_doc(node_ids=(0, 0, 1))))       # wrong length
    with pytest.raises(gg.BadGraphError):
        gg.loads_graph(json.dumps(two_buffer_doc(node_ids=(0, 0, -1, 1, 1))))


def test_save_round_trips_the_ids(tmp_path):
    g = gg.load_graph(write(tmp_path, two_buffer_doc()))
    out = tmp_path / "copy.json"
    g.save(out, node_buffer_ids=[1, 0, 1, 0, 1], leaf_buffer_ids=[1, 0])
    doc = json.loads(out.read_text())
    assert doc["node_buffer_ids"] == [1, 0, 1, 0, 1] and doc["leaf_buffer_ids"] == [1, 0]
    back = gg.load_graph(out)
    assert back.node_buffer_ids == [1, 0, 1, 0, 1] and back.leaf_buffer_ids == [1, 0]
    g.save(out)                                          # without ids: null
    doc = json.loads(out.read_text())
    assert doc["node_buffer_ids"] is None and doc["leaf_buffer_ids"] is None
    with pytest.raises(gg.BadInputError, match="node_buffer_ids has 2 entries"):
        g.save(out, node_buffer_ids=[0, 1])
    with pytest.raises(gg.BadInputError, match="not a buffer id"):
        g.save(out, leaf_buffer_ids=[0, -2])


def test_buffer_ids_plan_like_reserve_n(tmp_path):
    g = gg.load_graph(write(tmp_path, two_buffer_doc()))
    bufts = report.host_buffer_types(2, 32)
    assert len({b._buft for b in bufts}) == 2 and all(b.alignment == 32 and b.is_host for b in bufts)
    ga = gg.GraphAllocator(bufts)
    ga.reserve_n(g, g.node_buffer_ids, g.leaf_buffer_ids)
    plan = ga.plan()
    where = {e.tensor: e.buffer_id for e in plan.entries}
    assert where["x"] == 0 and where["mm0"] == 0 and where["z"] == 1
    assert ga.buffer_size(0) > 0 and ga.buffer_size(1) > 0
    ga.alloc_graph(g)
    assert ga.plan().verify() == 0


def test_cli_plans_every_buffer(tmp_path, capsys):
    path = write(tmp_path, two_buffer_doc())
    code = cli.main(["plan", path, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rep = json.loads(out)
    assert rep["n_buffers"] == 2 and rep["buffer_ids"] is True and rep["violations"] == 0
    b0, b1 = rep["buffers"]
    # The figures agree with reserve_n through the API, buffer by buffer.
    g = gg.load_graph(path)
    for planner, key in (("best", "size"), ("ggml", "ggml_size")):
        ga = gg.GraphAllocator(report.host_buffer_types(2, 32), planner=planner)
        ga.reserve_n(g, g.node_buffer_ids, g.leaf_buffer_ids)
        assert [b0[key], b1[key]] == [ga.buffer_size(0), ga.buffer_size(1)]
    assert b0["lower_bound"] <= b0["size"] and b1["lower_bound"] <= b1["size"]
    # Buffer 0 holds x for the whole graph (an input), mm0 and h; buffer 1 holds mm1, y, z.
    names0 = {r["name"] for r in b0["live_at_peak"]}
    names1 = {r["name"] for r in b1["live_at_peak"]}
    assert "x" in names0 and not names0 & {"mm1", "y", "z"}
    assert names1 and names1 <= {"mm1", "y", "z"}
    assert b0["no_reuse"] == 3 * MAT and b1["no_reuse"] == 3 * MAT
    # The text report shows both buffers.
    code = cli.main(["plan", path, "--planner", "ggml"])
    out, _ = capsys.readouterr()
    assert code == 0 and "buffer 0" in out and "buffer 1" in out and "reserve_n" in out
    # Reordering would break the node -> buffer assignment.
    assert cli.main(["plan", path, "--reorder"]) == 2
    assert "node_buffer_ids" in capsys.readouterr().err


def test_cli_three_buffers_with_a_max_size(tmp_path, capsys):
    path = write(tmp_path, two_buffer_doc(node_ids=(0, 1, 2, 2, 1), leaf_ids=(2, 0)))
    code = cli.main(["plan", path, "--json", "--max-size", str(MAT), "--alignment", "64"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rep = json.loads(out)
    assert rep["n_buffers"] == 3 and [b["id"] for b in rep["buffers"]] == [0, 1, 2]
    assert rep["violations"] == 0
    g = gg.load_graph(path)
    ga = gg.GraphAllocator(report.host_buffer_types(3, 64, MAT))
    ga.reserve_n(g, g.node_buffer_ids, g.leaf_buffer_ids)
    assert [b["size"] for b in rep["buffers"]] == [ga.buffer_size(i) for i in range(3)]
    # x and mm0 (buffer 0) are live together and a chunk holds one: two chunks.
    assert rep["buffers"][0]["chunks"] == 2 and rep["buffers"][0]["size"] == 2 * MAT
    # As in ggml, a node computed in place takes its parent's buffer whatever its own id says:
    # h (id 1) overwrites mm0 in buffer 0 and z (id 1) overwrites y in buffer 2.
    where = {e.tensor: e.buffer_id for e in ga.plan().entries}
    assert where["h"] == 0 and where["z"] == 2 and rep["buffers"][1]["size"] == 0
