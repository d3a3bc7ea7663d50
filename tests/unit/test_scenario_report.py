"""The before/after table and the checklist say what was measured, in sentences (#14, 5 and 11)."""

from scenarios import Report
from scenarios.report import NOTHING, check_sentence, comparison_rows, wanted


def _report(variant, counts):
    return Report("s", variant, 1, 0.0, 1.0, counts, {"p50": None, "p99": None, "samples": 0}, None, [], {})


def test_a_count_nobody_made_shows_a_dash_and_a_measured_zero_shows_zero():
    rows = dict(comparison_rows([_report("broken", {"sent": 2, "succeeded": 0, "lost": 0, "compensated": 2}),
                                 _report("fixed", {"sent": 2, "succeeded": 1, "lost": 0, "compensated": 1})]))
    assert rows["items succeeded"] == ["0", "1"]
    assert rows["in DLQ"] == [NOTHING, NOTHING] and rows["function invocations"] == [NOTHING, NOTHING]
    assert rows["compensated"] == ["2", "1"]


def test_checks_read_as_sentences():
    assert wanted("==", 0) == "0" and wanted(">=", 2) == "at least 2" and wanted("==", True) == "yes"
    assert check_sentence({"name": "good jobs transcoded again", "op": "==", "target": 0, "observed": 0,
                           "passed": True}) == "good jobs transcoded again: 0 (want 0)"
    assert check_sentence({"name": "status of the redriven job", "op": "==", "target": "DONE",
                           "observed": "FAILED", "passed": False}) == "status of the redriven job: FAILED (want DONE)"
    assert check_sentence({"name": "fewest transcodes", "op": ">=", "target": 2, "observed": None, "passed": False,
                           "error": "could not measure: nothing was observed as 'x'"}) == \
        "fewest transcodes: could not measure: nothing was observed as 'x' (want at least 2)"
    assert check_sentence({"name": "one", "op": "==", "target": 1, "observed": None, "passed": None,
                           "skipped": True}) == "one: not evaluated, the run was stopped (want 1)"


def test_the_cli_names_a_scenarios_own_counts_in_words(capsys):
    from sandbox.commands.scenario import print_event
    from scenarios import events as ev

    print_event(ev.ReportReady(report=_report("fixed", {"sent": 5, "dead_lettered": 1, "succeeded": 5})))
    out = capsys.readouterr().out
    assert "counts: items sent 5, dead lettered 1, items succeeded 5" in out, out


def test_retries_are_the_deliveries_after_each_jobs_first():
    """retry-storm's "retries": a job delivered three times (receive counts 1, 2, 3) was retried twice, not three
    times (0 + 1 + 2); a job seen once was not retried; other jobs' lines do not count."""
    from scenarios.kits.media_pipeline import retries_of

    def line(job, count):
        return {"message": "Transcoding", "job_id": job, "receive_count": count}

    lines = [line("a", 1), line("b", 1), line("b", 2), line("c", 1), line("c", 2), line("c", 3), line("other", 5),
             {"message": "Job done", "job_id": "c", "receive_count": 9}]
    assert retries_of(lines, {"a", "b", "c"}) == 0 + 1 + 2
    assert retries_of([line("a", None)], {"a"}) == 0


def test_a_pattern_left_in_its_variants_settings_is_said_with_how_to_undo_it():
    from scenarios.model import Variant
    from scenarios.runner import left_in_variant

    broken = Variant("broken", "retry storm", parameters={"media-pipeline": {"VisibilityTimeout": "1",
                                                                             "Idempotency": "disabled"}})
    assert left_in_variant(["media-pipeline", "crud-api"], broken) == [
        "media-pipeline stays deployed as variant broken set it up (VisibilityTimeout=1, Idempotency=disabled): "
        "`sandbox deploy media-pipeline --defaults` deploys it with the pattern's defaults"]
    assert left_in_variant(["media-pipeline"], Variant("fixed", "as designed")) == []
