"""'No sandbox is running' names the port this state dir's sandbox last ran on, when it is another (a TUI left open
after `down` said 4566 for a sandbox of port 4621, and a newcomer following it started a second one)."""

import pytest

from sandbox import Sandbox
from sandbox.embedded import free_port
from sandbox.errors import SandboxError
from sandbox.settings import Settings


def test_the_message_names_the_last_port_when_it_is_another(tmp_path):
    port = free_port()
    sb = Sandbox(Settings(state_dir=tmp_path, port=port, endpoint=None))
    assert sb.not_running_message() == f"No sandbox is running at http://127.0.0.1:{port}: start it with `sandbox up`."
    (tmp_path / "last-port").write_text("4621\n")
    with pytest.raises(SandboxError) as err:
        sb.require_running()
    assert str(err.value) == (f"No sandbox is running at http://127.0.0.1:{port}; this state dir's sandbox last ran on "
                              "port 4621: `sandbox up --port 4621` starts it there again.")
    (tmp_path / "last-port").write_text(f"{port}\n")  # the same port: nothing more to say
    assert "last ran" not in sb.not_running_message()
