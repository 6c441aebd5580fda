"""python3 -m ggalloc plan: sources, reports, --json, --plot, --reorder and errors."""

import json
import os
import subprocess
import sys

import pytest

import ggalloc as gg
from ggalloc import cli, models, report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from testdata import DATA
BUFFER_FIELDS = {"id", "size", "lower_bound", "ratio", "ggml_size", "best_over_ggml", "no_reuse",
                 "plan_time_ms", "ggml_plan_time_ms", "chunks", "peak_step", "peak_bytes",
                 "live_at_peak"}


def ggalloc_cmd(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "ggalloc", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def run_main(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_of_a_builtin_parses_and_agrees_with_the_api():
    p = ggalloc_cmd("plan", "gpt2-small", "--tokens", "16", "--layers", "2", "--json")
    assert p.returncode == 0, p.stderr
    rep = json.loads(p.stdout)
    assert rep["kind"] == "model" and rep["planner"] == "best" and rep["violations"] == 0
    assert rep["hparams"]["tokens"] == 16 and rep["hparams"]["n_layer"] == 2
    (b,) = rep["buffers"]
    assert BUFFER_FIELDS <= set(b)
    assert b["lower_bound"] <= b["size"] <= b["ggml_size"] <= b["no_reuse"]
    # The same figures as planning the same graph through the API.
    m = models.gpt2_small(tokens=16, layers=2)
    for planner, key in (("best", "size"), ("ggml", "ggml_size")):
        ga = gg.GraphAllocator(gg.host_buffer_type(32), planner=planner)
        ga.reserve(m.graph)
        assert b[key] == ga.buffer_size(0)
        assert b["lower_bound"] == ga.lower_bound(0)
    # The tensors live at the peak add up to the peak, which is the bound.
    assert b["peak_bytes"] == b["lower_bound"] <= sum(r["size"] for r in b["live_at_peak"])
    assert b["live_at_peak"][0]["size"] >= b["live_at_peak"][-1]["size"]


def test_text_report_has_every_figure(capsys):
    code, out, _ = run_main(capsys, "plan", "mlp", "--layers", "3", "--batch", "64", "--planner", "ggml")
    assert code == 0
    for word in ("buffer 0", "size", "lower bound", "ggml planner", "no reuse", "planning time",
                 "live at the peak", "verify: 0 violations", "planner ggml"):
        assert word in out, word


def test_graph_file_with_max_size_and_alignment(capsys):
    path = os.path.join(DATA, "graphs", "mlp-4x1024-b256.json")
    code, out, _ = run_main(capsys, "plan", path, "--json", "--max-size", "1MiB", "--alignment", "64")
    assert code == 0
    rep = json.loads(out)
    assert rep["kind"] == "graph" and rep["max_size"] == 1 << 20 and rep["alignment"] == 64
    (b,) = rep["buffers"]
    assert b["chunks"] >= 2
    assert all(r["size"] % 64 == 0 for r in b["live_at_peak"])
    assert b["lower_bound"] <= b["size"] <= b["ggml_size"]


def test_trace_source(capsys):
    path = os.path.join(DATA, "traces", "A.csv")
    code, out, _ = run_main(capsys, "plan", path, "--json")
    assert code == 0
    rep = json.loads(out)
    (b,) = rep["buffers"]
    ids, starts, ends, sizes = report.read_trace(path)
    assert rep["kind"] == "trace" and rep["n_blocks"] == len(ids) and rep["violations"] == 0
    assert b["lower_bound"] == gg.intervals_lower_bound(sizes, starts, ends)
    assert b["lower_bound"] <= b["size"] <= b["ggml_size"]
    assert b["no_reuse"] == sum(sizes)


def test_trace_time_budget(capsys):
    path = os.path.join(DATA, "traces", "J.csv")
    for budget in ("0", "0.2"):
        code, out, _ = run_main(capsys, "plan", path, "--json", "--time-budget", budget)
        assert code == 0
        rep = json.loads(out)
        b = rep["buffers"][0]
        assert rep["violations"] == 0
        assert b["lower_bound"] <= b["size"] < b["ggml_size"]
    for bad in ("-1", "soon"):
        with pytest.raises(SystemExit) as e:
            cli.main(["plan", path, "--time-budget", bad])
        assert e.value.code == 2 and "seconds" in capsys.readouterr().err


def test_graph_time_budget(tmp_path, capsys):
    """Graphs and built-in models take --time-budget too: the best planner searches a graph
    whose greedy pass is above the lower bound for up to that long (to the bound here)."""
    from test_alloc import random_dag
    import numpy as np
    path = None
    with gg.Context() as ctx:
        for seed in range(40):
            g = random_dag(ctx, np.random.default_rng(seed), 120)
            ga = gg.GraphAllocator(gg.host_buffer_type(32))
            ga.reserve(g)
            if ga.buffer_size() > ga.lower_bound():
                path = tmp_path / "dag.json"
                g.save(path)
                break
    assert path is not None
    sizes = {}
    for budget in (None, "0.5"):
        code, out, _ = run_main(capsys, "plan", str(path), "--json", *(("--time-budget", budget) if budget else ()))
        assert code == 0
        rep = json.loads(out)
        b = rep["buffers"][0]
        assert rep["violations"] == 0 and rep["time_budget"] == (float(budget) if budget else 0)
        sizes[budget] = (b["size"], b["lower_bound"])
    assert sizes[None][0] > sizes[None][1] and sizes["0.5"][0] == sizes["0.5"][1] == sizes[None][1]
    code, out, _ = run_main(capsys, "plan", "mlp", "--time-budget", "0.1")
    assert code == 0 and "best searched up to 0.1 s" in out


def test_plot_and_reorder(tmp_path, capsys):
    png = tmp_path / "plan.png"
    code, out, _ = run_main(capsys, "plan", "llama-7b", "--layers", "2", "--tokens", "8",
                            "--plot", str(png), "--reorder", "--json")
    assert code == 0
    rep = json.loads(out)
    assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ro = rep["reorder"]
    assert ro["lower_bound_after"][0] <= ro["lower_bound_before"][0]
    assert ro["lower_bound_after"][0] <= ro["size_after"][0]
    assert ro["violations_after"] == 0


@pytest.mark.parametrize("args, words", [
    (["plan", "no-such-model"], ["neither a file nor a built-in"]),
    (["plan", "gpt2-small", "--tokens", "5000"], ["n_ctx"]),
    (["plan", "cnn", "--tokens", "4"], ["--batch"]),
    (["plan", "BADJSON"], ["not a valid ggalloc.graph/1"]),
    (["plan", "BADCSV"], ["four integers"]),
    (["plan", "MLPJSON", "--tokens", "4"], ["built-in models only"]),
])
def test_bad_source_is_one_line_and_exit_2(tmp_path, capsys, args, words):
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"format": "ggalloc.graph/1", "tensors": [{"id": 0}]')
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("id,lower,upper,size\n0,0,x,5\n")
    subst = {"BADJSON": str(bad_json), "BADCSV": str(bad_csv),
             "MLPJSON": os.path.join(DATA, "graphs", "mlp-4x1024-b256.json")}
    code, out, err = run_main(capsys, *[subst.get(a, a) for a in args])
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python3 -m ggalloc plan: error:")
    for w in words:
        assert w in lines[0]


def test_bad_options_exit_2():
    p = ggalloc_cmd("plan", "mlp", "--alignment", "48")
    assert p.returncode == 2 and "power of two" in p.stderr
    p = ggalloc_cmd("plan", "/nonexistent/graph.json")
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1


def test_demo_passes_and_reports(tmp_path, capsys):
    png = tmp_path / "demo.png"
    code = cli.main(["demo", "--tokens", "6", "--layers", "1", "--threads", "2", "--plot", str(png)])
    out = capsys.readouterr().out
    assert code == 0, out
    for word in ("GPT-2 small", "lower bound", "ggml planner", "no reuse", "planning time",
                 "max abs error", "NMSE", "PASS"):
        assert word in out, word
    # the same forward pass on a Vulkan device, where there is one (lavapipe counts)
    if gg.vulkan_devices():
        assert "PASS: Vulkan logits match numpy" in out
    else:
        assert "Vulkan         not run" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_demo_fails_on_wrong_logits(tmp_path, capsys, monkeypatch):
    real = models.gpt2_reference

    def off_by_a_bit(*args, **kw):
        logits, mk, mv = real(*args, **kw)
        logits[0, :] += 1.0
        return logits, mk, mv

    monkeypatch.setattr(models, "gpt2_reference", off_by_a_bit)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["demo", "--tokens", "6", "--layers", "1"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL" in out and "PASS" not in out
    assert list(tmp_path.iterdir()) == []       # no plan.png (or anything) written unasked


def test_best_over_ggml_is_the_best_plan_against_ggml_whatever_the_planner(capsys):
    reps = {}
    for planner in ("best", "ggml"):
        code, out, _ = run_main(capsys, "plan", "gpt2-small", "--tokens", "64", "--layers", "2",
                                "--planner", planner, "--json")
        assert code == 0
        reps[planner] = json.loads(out)["buffers"][0]
    best, ggml = reps["best"], reps["ggml"]
    assert best["size"] < best["ggml_size"]                    # the planners differ on this graph
    want = best["size"] / best["ggml_size"]
    assert abs(best["best_over_ggml"] - want) < 1e-9
    assert abs(ggml["best_over_ggml"] - want) < 1e-9           # not size / ggml_size (= 1.0) here


def test_a_tensor_larger_than_max_size_is_named_in_a_warning(capsys):
    m = models.gpt2_small(tokens=16, layers=1)
    biggest = max((t for t in m.graph.nodes), key=lambda t: t.nbytes)
    limit = biggest.nbytes // 2
    code, out, _ = run_main(capsys, "plan", "gpt2-small", "--tokens", "16", "--layers", "1",
                            "--max-size", str(limit), "--json")
    assert code == 0
    rep = json.loads(out)
    assert rep["warnings"] and any(biggest.name in w and "max buffer size" in w for w in rep["warnings"])
    code, out, _ = run_main(capsys, "plan", "gpt2-small", "--tokens", "16", "--layers", "1",
                            "--max-size", str(limit))
    assert code == 0 and f"warning: tensor {biggest.name}" in out
    code, out, _ = run_main(capsys, "plan", "gpt2-small", "--tokens", "16", "--layers", "1", "--json")
    assert json.loads(out)["warnings"] == []


@pytest.mark.parametrize("content, why", [
    ("id,lower,upper,size\n0,0,2,18446744073709551616\n", "size"),
    ("id,lower,upper,size\n0,0,9223372036854775808,8\n", "64-bit"),
    ("id,lower,upper,size\n0,-9223372036854775809,2,8\n", "64-bit"),
    (b"id,lower,upper,size\n0,0,2,\xff\xfe\n", "UTF-8"),
    ("id,lower,upper,size\n0,0,2,8,9\n", "columns"),
    ("id,lower,upper,size,extra\n0,0,2,8,9\n", "header"),
    ("id,lower,upper,size\n0,0,2,8\n0,1,3,8\n", "repeats"),
    ("id,lower,upper,size\n0,2,2,8\n", "must exceed"),
])
def test_bad_traces_are_one_line_and_exit_2(tmp_path, capsys, content, why):
    path = tmp_path / "t.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, out, err = run_main(capsys, "plan", str(path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and why in err and "Traceback" not in err


@pytest.mark.parametrize("args, why", [
    (["--max-size", "99999999999999999999999"], "64 bits"),
    (["--max-size", "inf"], "not a size"),
    (["--plot", "x.txt"], "extensions"),
])
def test_bad_options_are_one_line_and_exit_2(capsys, args, why):
    with pytest.raises(SystemExit) as e:
        cli.main(["plan", "mlp", "--layers", "1", *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert why in err and "Traceback" not in err


def test_a_document_with_a_huge_buffer_id_is_refused(tmp_path, capsys):
    doc = json.load(open(os.path.join(DATA, "graphs", "mlp-4x1024-b256.json")))
    doc["node_buffer_ids"] = [0] * len(doc["nodes"])
    doc["node_buffer_ids"][1] = 2147483647
    path = tmp_path / "ids.json"
    path.write_text(json.dumps(doc))
    code, out, err = run_main(capsys, "plan", str(path))
    assert code == 2 and "node_buffer_ids[1]" in err and "out of range" in err
    with pytest.raises(gg.BadGraphError):
        gg.load_graph(path)
