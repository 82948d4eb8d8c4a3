"""Loading the National DNC Registry: full and change files, separators, malformed lines, dates."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from compliance.platform.models import RegistryLoad, RegistryNumber

pytestmark = pytest.mark.django_db


def _numbers() -> set[int]:
    return set(RegistryNumber.objects.values_list("number", flat=True))


def test_a_full_file_with_separators_and_malformed_lines_keeps_the_good_ones(world, tmp_path, capsys):
    path = tmp_path / "dnc-full-2025-06-01.txt"
    path.write_bytes(
        b"2025550123\n"
        b"202-555-0124\n"
        b"(202) 555-0125\r\n"
        b"202,5550126\n"
        b"1 202 555 0127\n"
        b"\n"
        b"20255501\n"  # line 7: too short
        b"0125550123\n"  # line 8: area code can't start with 0
        b"AreaCode,PhoneNumber\n"  # line 9: a header is not a number
        b"2025550123\n"  # a repeat: deduplicated
        b"\xff\xfe garbage\n"  # line 11
    )
    call_command("load_dnc_registry", str(path), "--no-progress")
    out, err = capsys.readouterr()
    assert _numbers() == {2025550123, 2025550124, 2025550125, 2025550126, 2025550127}
    for line in (7, 8, 9, 11):
        assert f"line {line}:" in err
    assert "line 10" not in err and "line 6" not in err
    load = RegistryLoad.objects.get()
    assert (load.kind, load.file_date, load.lines, load.malformed, load.total_after) == (
        "full", dt.date(2025, 6, 1), 11, 4, 5)
    assert "4 malformed" in out and "5 numbers in the registry" in out


def test_a_full_file_replaces_the_registry(world, tmp_path):
    (tmp_path / "a.txt").write_text("2025550123\n2025550124\n")
    (tmp_path / "b.txt").write_text("3055550100\n")
    call_command("load_dnc_registry", str(tmp_path / "a.txt"), "--file-date", "2025-05-01", "--no-progress")
    call_command("load_dnc_registry", str(tmp_path / "b.txt"), "--file-date", "2025-06-01", "--no-progress")
    assert _numbers() == {3055550100}
    # The table swapped in is the model's table, with its primary key.
    RegistryNumber.objects.create(number=2125550100)
    with pytest.raises(Exception):
        with transaction.atomic():
            RegistryNumber.objects.create(number=2125550100)


def test_change_files_add_and_delete(world, tmp_path):
    (tmp_path / "full.txt").write_text("2025550123\n2025550124\n")
    call_command("load_dnc_registry", str(tmp_path / "full.txt"), "--file-date", "2025-05-01", "--no-progress")
    (tmp_path / "change.txt").write_text("3055550100,A\nD 2025550123\n2025550125\n3055550101 X\n"
                                         "2025550126,A\n2025550126,D\n")
    call_command("load_dnc_registry", str(tmp_path / "change.txt"), "--change-file", "--file-date", "2025-05-02",
                 "--no-progress")
    assert _numbers() == {2025550124, 3055550100, 2025550125}  # last line about 2025550126 wins: deleted
    load = RegistryLoad.objects.get(kind="change")
    assert (load.added, load.deleted, load.malformed, load.total_after) == (2, 1, 1, 3)
    (tmp_path / "deletions.txt").write_text("2025550124\n")
    call_command("load_dnc_registry", str(tmp_path / "deletions.txt"), "--change-file", "--deletions",
                 "--file-date", "2025-05-03", "--no-progress")
    assert _numbers() == {3055550100, 2025550125}


def test_the_file_date_is_required_and_never_guessed(world, tmp_path):
    (tmp_path / "nodate.txt").write_text("2025550123\n")
    with pytest.raises(CommandError, match="--file-date"):
        call_command("load_dnc_registry", str(tmp_path / "nodate.txt"), "--no-progress")
    with pytest.raises(CommandError, match="not YYYY-MM-DD"):
        call_command("load_dnc_registry", str(tmp_path / "nodate.txt"), "--file-date", "June", "--no-progress")
    assert not RegistryLoad.objects.exists()


def test_the_progress_bar_goes_to_stderr(world, tmp_path, capsys):
    (tmp_path / "p.txt").write_text("2025550123\n")
    call_command("load_dnc_registry", str(tmp_path / "p.txt"), "--file-date", "2025-06-01")
    err = capsys.readouterr().err
    assert "reading [" in err and "100%" in err
