"""Issue 12: a config file that is not plain UTF-8 YAML of what it seems to say stops with one line.

In-process through :func:`mlestudy.config.read_config_file`, then through the
``snakemake`` CLI (``config.yaml`` and ``--configfile``): no traceback, no job.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from workflow_helpers import copy_workflow, snakemake

from mlestudy.config import MAX_LINE, ConfigError, load, read_config_file, validate

VALID = (
    "seed: 7\n"
    "scenarios:\n"
    "  - name: coin\n"
    "    family: bernoulli\n"
    "    params: {p: 0.3}\n"
    "    sample_sizes: [5]\n"
    "    replications: 100\n"
)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{k}: &{k} [{', '.join([f'*{prev}'] * 10)}]\n" for prev, k in zip("abcdef", "bcdefg", strict=True)
)

# (id, file bytes, the one problem after "<file>: ")
BAD_FILES = [
    ("octal-seed", VALID.replace("seed: 7", "seed: 0123").encode(),
     "line 1, column 7: '0123' is a number with a leading zero, which YAML 1.1 (Snakemake's reader) takes as 83"),
    ("leading-zero-8", VALID.replace("replications: 100", "replications: 0100").encode(),
     "line 7, column 19: '0100' is a number with a leading zero, which YAML 1.1 (Snakemake's reader) takes as 64"),
    ("leading-zero-text", VALID.replace("name: coin", "name: 08").encode(),
     "line 3, column 11: '08' is a number with a leading zero, which YAML 1.1 (Snakemake's reader) takes as '08'"),
    ("base-60", VALID.replace("replications: 100", "replications: 1:40").encode(),
     "line 7, column 19: '1:40' is a base-60 number, which YAML 1.1 (Snakemake's reader) takes as 100"),
    ("latin-1", (VALID + "# café\n").encode("latin-1"),
     "is not UTF-8 text (byte 0xe9 at line 8, column 6; Latin-1 or Windows-1252, perhaps); save it as UTF-8"),
    ("utf-16", VALID.encode("utf-16"), "is UTF-16 text; save it as UTF-8"),
    ("utf-32", VALID.encode("utf-32"), "is UTF-32 text; save it as UTF-8"),
    ("utf-16-without-bom", VALID.encode("utf-16-le"),
     "contains NUL bytes (UTF-16 without a byte-order mark, or not text); save it as UTF-8 text"),
    ("recursive-alias", b"seed: &s [1, *s]\n", "line 1, column 7: an alias refers to a value that contains it"),
    ("alias-bomb", BOMB.encode(), "its aliases expand it to 12,345,685 values, more than 1,000,000"),
    ("nested-too-deep", ("seed: " + "[" * 20000 + "]" * 20000 + "\n").encode(),
     "not valid YAML: it is nested too deeply"),
    ("tag-cannot-be-built", VALID.replace("family: bernoulli", "family: !!float 'x'").encode(),
     "not valid YAML: a tagged value cannot be built (could not convert string to float: 'x')"),
    ("control-character", VALID.replace("coin", "co\x7fin").encode(),
     "not valid YAML: unacceptable character #x007f: special characters are not allowed"),
    ("use-yte", ("__use_yte__: true\n" + VALID).encode(),
     "key '__use_yte__' asks Snakemake to run the file as a YTE template; mlestudy reads plain YAML only"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "problem"), [pytest.param(d, m, id=i) for i, d, m in BAD_FILES])
def test_bad_file_is_one_line_naming_the_file(tmp_path: Path, data: bytes, problem: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as info:
        read_config_file(path)
    assert len(info.value.problems) == 1 and "\n" not in info.value.problems[0]
    assert info.value.problems[0].startswith(f"{path}: {problem}"), info.value.problems


def test_directory_missing_and_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A directory, no file, or a file the user may not read: one line naming it."""
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ConfigError, match=r"dir\.yaml: is a directory, not a config file$"):
        read_config_file(tmp_path / "dir.yaml")
    with pytest.raises(ConfigError, match=r"absent\.yaml: the file does not exist$"):
        read_config_file(tmp_path / "absent.yaml")
    locked = tmp_path / "locked.yaml"
    locked.write_text(VALID)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)  # root reads any file: chmod 000 cannot show this
    with pytest.raises(ConfigError, match=r"locked\.yaml: cannot be read \(Permission denied\)$"):
        read_config_file(locked)


def test_utf8_with_bom_and_quoted_leading_zeros_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(codecs.BOM_UTF8 + VALID.replace("name: coin", "name: '0123'").encode())
    study = load(path)
    assert study.seed == 7 and study.scenarios[0].name == "0123"
    path.write_text(VALID.replace("seed: 7", "seed: 12.0"))  # integral and exact: the seed 12
    assert load(path).seed == 12


def test_long_values_are_cut_short(tmp_path: Path) -> None:
    """A 10,000-character name gave a 20,203-character message; now every line is short."""
    long = "x" * 10_000
    with pytest.raises(ConfigError) as info:
        validate({"seed": 1, "scenarios": [{"name": long, "family": long, "params": {long: 1.0},
                                            "sample_sizes": [5], "replications": 10, "estimators": [long]}]})  # fmt: skip
    assert all(len(p) <= MAX_LINE for p in info.value.problems), [len(p) for p in info.value.problems]
    assert "… (10,002 characters)" in info.value.problems[0]
    many = [
        {"name": f"s{i}", "family": "nope", "params": {}, "sample_sizes": [5], "replications": 10}
        for i in range(500)
    ]
    with pytest.raises(ConfigError) as info:
        validate({"seed": 1, "scenarios": many})
    assert len(info.value.problems) == 31 and info.value.problems[-1] == "... and 470 more problems"


# -- through the snakemake CLI -----------------------------------------------------

SCENARIO = VALID.split("scenarios:\n")[1]
BAD_VALUES = (
    VALID.replace("seed: 7", "seed: 1.0e+30")
    + SCENARIO.replace("coin", "Coin")
    + SCENARIO.replace("coin", '"odd\\n"')
    + SCENARIO.replace("coin", "big")
    .replace("bernoulli", "normal")
    .replace("{p: 0.3}", "{mu: 1.0e+20, sigma2: 1}")
)
CLI_CASES = {
    "directory": (None, ["config.yaml: is a directory, not a config file"]),
    "latin-1": ((VALID + "# café\n").encode("latin-1"), ["config.yaml: is not UTF-8 text (byte 0xe9 at line 8"]),
    "utf-16": (VALID.encode("utf-16"), ["config.yaml: is UTF-16 text; save it as UTF-8"]),
    "octal-seed": (VALID.replace("seed: 7", "seed: 0123").encode(), ["config.yaml: line 1, column 7: '0123'"]),
    "use-yte": (("__use_yte__: true\n" + VALID).encode(), ["config.yaml: key '__use_yte__' asks Snakemake"]),
    # Values: all four problems are said at once, one line each.
    "bad-values": (BAD_VALUES.encode(), [
        "top level: key 'seed' = 1e+30 is not allowed",
        "scenario 'Coin' (scenarios[1]): key 'name' = 'Coin' differs only in case from 'coin' of scenarios[0]",
        "scenario 'odd\\n' (scenarios[2]): key 'name' = 'odd\\n' is not allowed",
        "scenario 'big' (scenarios[3]): key 'params.mu' = 1e+20 is not allowed",
    ]),
}  # fmt: skip


def assert_stopped_before_any_job(result, workdir: Path, messages: list[str]) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for message in messages:
        assert message in result.stderr, (message, result.stderr[-3000:])
    assert "Traceback" not in output, output[-3000:]
    assert "Job stats" not in output and "rule simulate" not in output, output[-3000:]
    assert not (workdir / "results").exists()


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CLI_CASES))
def test_bad_config_yaml_stops_snakemake_with_one_line(tmp_path: Path, case: str) -> None:
    data, messages = CLI_CASES[case]
    copy_workflow(tmp_path)
    (tmp_path / "config.yaml").unlink(missing_ok=True)
    if data is None:
        (tmp_path / "config.yaml").mkdir()
    else:
        (tmp_path / "config.yaml").write_bytes(data)
    assert_stopped_before_any_job(snakemake(tmp_path, cores=1), tmp_path, messages)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["octal-seed", "use-yte", "bad-values"])
def test_bad_configfile_stops_snakemake_with_one_line(tmp_path: Path, case: str) -> None:
    """A --configfile that Snakemake itself can load is checked like config.yaml, and named."""
    data, messages = CLI_CASES[case]
    copy_workflow(tmp_path)
    path = tmp_path / "study.yaml"
    path.write_bytes(data)
    result = snakemake(tmp_path, "--configfile", str(path), cores=1)
    assert_stopped_before_any_job(result, tmp_path, [m.replace("config.yaml", str(path)) for m in messages])


@pytest.mark.slow
def test_configfile_snakemake_cannot_decode_runs_no_job(tmp_path: Path) -> None:
    """Documented limit: Snakemake reads --configfile before the workflow starts, and a file it cannot
    decode ends the run with Snakemake's own traceback; still no job runs and nothing is written."""
    copy_workflow(tmp_path)
    path = tmp_path / "study.yaml"
    path.write_bytes(CLI_CASES["latin-1"][0])
    result = snakemake(tmp_path, "--configfile", str(path), cores=1)
    assert result.returncode != 0 and "Job stats" not in result.stdout + result.stderr
    assert "UnicodeDecodeError" in result.stderr
    assert not (tmp_path / "results").exists()
