"""`sandbox replay` on files that are not good recordings: a clear error, never a traceback (#14, 16)."""

import pytest
from click.testing import CliRunner

from sandbox.cli import main
from scenarios.replay import ReplayError, replay


@pytest.mark.parametrize("content, fragment", [
    (b"\xff\xfe\x00binary", "is not UTF-8 text"),
    (b'{"type": "report", "report": {"scenario": "x"}}\n', "'report' event without"),
    (b'{"type": "report", "report": "oops"}\n', "'report' event without"),
    (b'[1, 2]\n', "expected a JSON object"),
    (b'"just a string"\n', "expected a JSON object"),
    (b'{"type": "nope"}\n', "unknown event type"),
    (b'not json\n', "is not an event of a recording"),
])
def test_a_bad_recording_is_explained(tmp_path, content, fragment):
    path = tmp_path / "run.jsonl"
    path.write_bytes(content)
    with pytest.raises(ReplayError, match=None) as info:
        replay(path)
    assert fragment in str(info.value), str(info.value)
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code != 0 and result.exception is None or isinstance(result.exception, SystemExit), \
        result.output
    assert "Traceback" not in result.output
