"""The walk of an outputs folder: names no download could carry, nesting and floods are measured
and refused, and the folder itself may not be swapped for a link."""
from __future__ import annotations

import os

from workflows.output_files import MAX_DEPTH, list_outputs, name_problem, read_output


def test_names_with_control_characters_dots_or_undecodable_bytes_are_refused(tmp_path):
    (tmp_path / "ok.txt").write_text("fine")
    (tmp_path / "bad\nname.txt").write_text("x")
    os.close(os.open(os.fsencode(tmp_path) + b"/latin-\xe9.txt", os.O_CREAT | os.O_WRONLY))
    listing = list_outputs(tmp_path, 10, 100)
    assert [file.name for file in listing.files] == ["ok.txt"]
    assert sorted(listing.refused) == ["'bad\\nname.txt' left out: a name with control characters or a backslash",
                                       "'latin-\\udce9.txt' left out: a name that is not UTF-8"]
    assert name_problem("a/../b") and name_problem("x" * 2000) and name_problem("plots/a.png") is None


def test_nesting_is_bounded_and_the_files_stream_in_chunks(tmp_path):
    deep = tmp_path.joinpath(*["d"] * (MAX_DEPTH + 1))
    deep.mkdir(parents=True)
    (deep / "lost.txt").write_text("too deep")
    (tmp_path / "big.bin").write_bytes(b"x" * 10_000)
    listing = list_outputs(tmp_path, 10, 10**6)
    [big] = listing.files
    assert [len(chunk) for chunk in read_output(tmp_path, big, chunk_bytes=4096)] == [4096, 4096, 1808]
    assert listing.refused == [f"'{'d/' * MAX_DEPTH}d' left out: folders nested deeper than {MAX_DEPTH}"]


def test_files_beyond_the_count_are_counted_not_kept(tmp_path):
    for index in range(30):
        (tmp_path / f"f{index:02}").write_text("x")
    listing = list_outputs(tmp_path, 1, 10**6)
    assert len(listing.files) == 1
    assert listing.refused[-1] == "29 more files left out: an order keeps at most 1 files"


def test_an_outputs_folder_swapped_for_a_link_is_refused_whole(tmp_path):
    (tmp_path / "outputs").symlink_to("/etc")
    listing = list_outputs(tmp_path / "outputs", 10, 10**6)
    assert (listing.files, listing.refused) == ([], ["'.' left out: the outputs folder is not a folder"])
    assert list_outputs(tmp_path / "missing", 10, 10**6).files == []
