"""The ``run --follow`` display as a pure function of run documents, and how it is drawn."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from cli.follow import Display
from cli.progress import ASCII, format_duration, render_block, summary_line
from tests.cli import runs_docs

NOW = datetime(2026, 11, 26, 10, 2, 5, tzinfo=UTC)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_customizing_run_shows_states_phase_timings_and_the_current_customizer() -> None:
    lines = render_block(runs_docs.customizing(), now=NOW, template="ubuntu")
    assert lines[0] == f"ubuntu run {runs_docs.RUN_ID}: Running / Customizing   elapsed 2:05"
    assert lines[1] == "  phases  ✔ resolve 0.4s  ✔ preflight 0.6s  ✔ deploy 1:30  ▶ customize"
    assert lines[2] == "  step    customize[1] install-tools: Running"
    assert len(lines) == 3


def test_distribution_lists_each_target_with_its_regions_in_template_order() -> None:
    lines = render_block(runs_docs.distributing(), now=NOW)
    assert "  ▶ ubuntu-2404-gallery (SharedImage): Running" in lines
    regions = lines[lines.index("  ▶ ubuntu-2404-gallery (SharedImage): Running") + 1]
    assert regions == "      eastus: Succeeded   westeurope: Replicating   southeastasia: Queued"


def test_a_finished_run_counts_elapsed_time_to_its_end_not_to_now() -> None:
    later = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    header = render_block(runs_docs.succeeded(), now=later)[0]
    assert header.endswith(": Succeeded   elapsed 5:07")


def test_a_failed_run_shows_its_message_and_the_newest_log_lines() -> None:
    lines = render_block(runs_docs.failed(), now=NOW, log_tail=["E: Unable to locate package jqq"])
    assert lines[0].startswith(f"run {runs_docs.RUN_ID}: Failed ")
    assert "  phases  ✔ resolve 0.4s  ✔ preflight 0.6s  ✔ deploy 1:30  ✘ customize 0:29" in lines
    assert "  message customize[1] install-tools failed with exit code 100" in lines
    assert lines[-1] == "  | E: Unable to locate package jqq"


def test_target_errors_are_shown_under_the_target() -> None:
    run = runs_docs.distributing()
    run["properties"]["targets"][0].update(
        state="Failed", error={"code": "ReplicationFailed", "message": "westeurope: quota exceeded"}
    )
    lines = render_block(run, now=NOW)
    assert "  ✘ ubuntu-2404-gallery (SharedImage): Failed" in lines
    assert "      error: westeurope: quota exceeded [ReplicationFailed]" in lines


def test_a_step_of_a_finished_phase_is_not_shown_as_current() -> None:
    distributing = render_block(runs_docs.distributing(), now=NOW)
    assert not any(line.startswith("  step ") for line in distributing)  # customize[1] ended with its phase
    succeeded = render_block(runs_docs.succeeded(), now=NOW)
    assert not any(line.startswith("  step ") for line in succeeded)


def test_ascii_marks_replace_the_symbols_when_the_terminal_cannot_encode_them() -> None:
    lines = render_block(runs_docs.customizing(), now=NOW, marks=ASCII)
    assert lines[1] == "  phases  ok resolve 0.4s  ok preflight 0.6s  ok deploy 1:30  > customize"


def test_a_run_without_start_time_or_phases_still_renders_a_header() -> None:
    assert render_block({"name": "r1", "properties": {"runState": "Running"}}, now=NOW) == ["run r1: Running"]


def test_summary_lines_ignore_time_so_equal_lines_mean_nothing_changed() -> None:
    first = summary_line(runs_docs.distributing())
    assert first == (
        "Running / Distributing | phase distribute Running"
        " | ubuntu-2404-gallery Running (eastus Succeeded, westeurope Replicating, southeastasia Queued)"
    )
    assert summary_line(runs_docs.distributing()) == first
    assert summary_line(runs_docs.succeeded()) != first


def test_durations_read_as_seconds_then_minutes_then_hours() -> None:
    assert [format_duration(s) for s in (0.42, 9.95, 10, 125, 3600 * 2 + 61)] == [
        "0.4s",
        "9.9s",
        "0:10",
        "2:05",
        "2:01:01",
    ]


def test_on_a_terminal_each_update_moves_the_cursor_back_over_the_previous_block() -> None:
    out = _Tty()
    display = Display(out)
    display.update(runs_docs.queued(), now=NOW)
    first = out.getvalue()
    assert "\x1b[" not in first and first.count("\n") == 2
    display.update(runs_docs.customizing(), now=NOW)
    second = out.getvalue()[len(first) :]
    assert second.startswith("\x1b[2F\x1b[J")  # up over the two lines drawn, then clear to the end
    assert "customize[1] install-tools" in second


def test_on_a_pipe_a_line_is_appended_only_when_something_changed() -> None:
    out = io.StringIO()
    display = Display(out, tty=False)
    for doc in (runs_docs.queued(), runs_docs.queued(), runs_docs.customizing(), runs_docs.customizing()):
        display.update(doc, now=NOW)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "\x1b" not in out.getvalue()
    assert lines[0].endswith("] Running / Queued | phase resolve Running")
    assert lines[1].endswith("| step customize[1] install-tools: Running")


def test_a_region_reported_with_its_times_shows_its_state() -> None:
    run = runs_docs.distributing()
    run["properties"]["targets"][0]["regions"]["westeurope"] = {
        "state": "Replicating",
        "startTime": "2026-11-26T10:03:00Z",
    }
    lines = render_block(run, now=NOW)
    assert "      eastus: Succeeded   westeurope: Replicating   southeastasia: Queued" in lines
    assert "(eastus Succeeded, westeurope Replicating, southeastasia Queued)" in summary_line(run)


def test_on_an_80_column_terminal_the_phase_line_keeps_the_phase_in_progress() -> None:
    run = runs_docs.distributing()
    phases = run["properties"]["phases"]
    names = ["resolve", "preflight", "staging", "deploy", "artifacts", "customize", "generalize"]
    done = [{**phases[0], "phase": n, "state": "Succeeded"} for n in names]
    run["properties"]["phases"] = [*done, {**phases[-1], "phase": "distribute", "state": "Running"}]

    [line] = [x for x in render_block(run, now=NOW, width=79) if x.startswith("  phases")]

    assert len(line) <= 79
    assert line.startswith("  phases  …  ") and line.endswith("distribute")
    assert "resolve" not in line  # the oldest phases gave way
