"""The rehearsal lab's state with named fields: the same state.json as before, read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabrictui.lab import lab as rlab
from fabrictui.lab import processes
from fabrictui.lab.labstate import ProcessRecord, RunningLab, StateError, load_state

# what `up` wrote when the state was a dict of string keys (after its last step)
OLD_DOCUMENT = {
    "format": "fabrictui-lab-state/1",
    "lab_id": "a1b2c3",
    "dir": "/tmp/lab",
    "created_dir": True,
    "status": "up",
    "step": "done",
    "started": 1764480000.5,
    "shape": {"spines": 2, "racks": 2, "nodes_per_rack": 2},
    "namespaces": ["ftl-a1b2c3-spine-sw1", "ftl-a1b2c3-leaf1"],
    "frr_dirs": ["/run/frr/ftl-a1b2c3-spine-sw1"],
    "processes": [
        {
            "role": "zebra",
            "host": "spine-sw1",
            "pid": 4242,
            "start_time": 99,
            "marker": "ftl-a1b2c3-spine-sw1",
            "log": "/tmp/lab/logs/spine-sw1.zebra.log",
        },
        {
            "role": "kubeapi",
            "host": None,
            "pid": 4343,
            "start_time": None,
            "marker": "/tmp/lab",
            "log": "/tmp/lab/logs/kubeapi.log",
        },
    ],
    "ports": {"ssh": {"spine-sw1": 40001, "leaf1": 40002}, "kube": 40443},
    "files": ["inventory.json", "keys"],
    "up_seconds": 3.25,
}


def test_the_old_document_reads_back_with_names_and_writes_byte_for_byte(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps(OLD_DOCUMENT, indent=2) + "\n")
    state = load_state(tmp_path)
    assert state is not None
    assert (state.lab_id, state.status, state.created_dir) == ("a1b2c3", "up", True)
    assert (state.spines, state.racks, state.nodes_per_rack) == (2, 2, 2)
    assert state.ssh_ports == {"spine-sw1": 40001, "leaf1": 40002} and state.kube_port == 40443
    assert state.processes_of("kubeapi") == [
        ProcessRecord("kubeapi", None, 4343, None, "/tmp/lab", "/tmp/lab/logs/kubeapi.log")
    ]
    before = (tmp_path / "state.json").read_text()
    rlab.write_state(tmp_path, state)
    assert (tmp_path / "state.json").read_text() == before


def test_a_state_while_starting_has_no_ports_yet(tmp_path: Path) -> None:
    state = RunningLab(lab_id="ffeedd", dir=str(tmp_path), started=1.0)
    doc = state.to_json()
    assert doc["ports"] == {} and "up_seconds" not in doc and doc["processes"] == []
    state.ssh_ports = {"leaf1": 40002}
    assert state.to_json()["ports"] == {"ssh": {"leaf1": 40002}}


def test_keys_from_a_newer_writer_are_kept(tmp_path: Path) -> None:
    rlab.write_state(tmp_path, {**OLD_DOCUMENT, "note": {"by": "a later version"}})
    state = load_state(tmp_path)
    assert state is not None and state.extra == {"note": {"by": "a later version"}}
    state.status = "stopping"
    rlab.write_state(tmp_path, state)
    raw = rlab.read_state(tmp_path)
    assert raw is not None and raw["note"] == {"by": "a later version"}
    assert raw["status"] == "stopping"


def test_scripts_may_still_edit_the_raw_document(tmp_path: Path) -> None:
    rlab.write_state(tmp_path, OLD_DOCUMENT)
    raw = rlab.read_state(tmp_path)
    assert raw is not None
    raw["processes"].append({"role": "sshd", "host": "leaf1", "pid": 7, "start_time": None})
    rlab.write_state(tmp_path, raw)
    state = load_state(tmp_path)
    assert state is not None and state.processes_of("sshd")[0].pid == 7
    assert processes.record_exited(state.processes_of("sshd")[0])  # never read: gone
    assert processes.record_exited(raw["processes"][-1])  # the dict form is still accepted


@pytest.mark.parametrize(
    "doc",
    [
        {"format": "something-else/1", "lab_id": "x"},
        {"format": "fabrictui-lab-state/1"},
        {"format": "fabrictui-lab-state/1", "lab_id": "x", "processes": [{"role": "sshd"}]},
    ],
)
def test_what_is_not_a_lab_state_is_a_lab_error(tmp_path: Path, doc: dict[str, object]) -> None:
    (tmp_path / "state.json").write_text(json.dumps(doc))
    with pytest.raises(rlab.LabError):
        load_state(tmp_path)
    assert issubclass(StateError, rlab.LabError)


def test_no_state_file_is_no_lab(tmp_path: Path) -> None:
    assert load_state(tmp_path) is None and rlab.read_state(tmp_path) is None
