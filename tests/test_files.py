"""Atomic writes: the target is replaced whole or not at all."""

from __future__ import annotations

import os
import stat

import pytest

from scoring.files import replaced_atomically, write_atomically


def test_a_failing_block_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "scores.txt"
    target.write_bytes(b"old\n")
    with pytest.raises(RuntimeError, match="killed"), replaced_atomically(target) as temporary:
        temporary.write_bytes(b"half of the ne")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.txt"]


def test_a_block_failing_before_it_writes_leaves_nothing_behind(tmp_path):
    with pytest.raises(KeyboardInterrupt), replaced_atomically(tmp_path / "new" / "a.json"):
        raise KeyboardInterrupt
    assert list((tmp_path / "new").iterdir()) == []


def test_a_successful_block_replaces_the_target_whole_from_beside_it(tmp_path):
    target = tmp_path / "sub" / "a.zip"
    with replaced_atomically(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.startswith(".a.zip.")
        assert not temporary.exists()
        temporary.write_bytes(b"new")
        assert not target.exists()
    assert target.read_bytes() == b"new"
    assert [p.name for p in target.parent.iterdir()] == ["a.zip"]


def test_written_files_get_the_given_mode(tmp_path):
    write_atomically(tmp_path / "public.txt", b"x")
    write_atomically(tmp_path / "private.pt", b"x", mode=0o600)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"public.txt": 0o644, "private.pt": 0o600}


def test_a_hard_link_keeps_its_source_and_its_permissions(tmp_path):
    source = tmp_path / "source.png"
    source.write_bytes(b"png")
    source.chmod(0o444)
    with replaced_atomically(tmp_path / "linked.png", mode=None) as temporary:
        try:
            os.link(source, temporary)
        except OSError:
            pytest.skip("this file system refuses hard links")
    assert os.path.samefile(source, tmp_path / "linked.png")
    assert stat.S_IMODE(source.stat().st_mode) == 0o444


def test_writing_again_replaces_the_content(tmp_path):
    target = tmp_path / "log.csv"
    write_atomically(target, b"epoch\n1\n")
    write_atomically(target, b"epoch\n1\n2\n")
    assert target.read_bytes() == b"epoch\n1\n2\n"


def test_a_temporary_left_by_a_killed_writer_is_cleared_before_the_next_write(tmp_path):
    (tmp_path / ".a.json.partial").write_bytes(b"half of a file from a killed run")
    write_atomically(tmp_path / "a.json", b"{}")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"] and (tmp_path / "a.json").read_bytes() == b"{}"
