"""The example notebook and the %%netsim magic, run in a real Jupyter kernel."""

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[2]
ECHO = ROOT / "examples" / "notebook" / "echo.ipynb"


def execute(notebook: nbformat.NotebookNode, directory: Path) -> nbformat.NotebookNode:
    """Runs every cell in a fresh python3 kernel (which inherits this process's
    environment, PYTHONPATH included, so it imports the netsim under test)."""
    notebook = copy.deepcopy(notebook)
    # record_timing=False: no wall-clock timestamps in the cells' metadata.
    NotebookClient(notebook, timeout=120, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(directory)}}).execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode) -> str:
    return json.dumps([(cell.get("execution_count"), cell.get("outputs")) for cell in notebook.cells
                       if cell.cell_type == "code"], sort_keys=True, indent=1)


def text_of(cell: nbformat.NotebookNode, mime: str) -> str:
    return "".join(o["data"][mime] for o in cell.outputs if "data" in o and mime in o["data"])


def test_echo_notebook_runs_the_same_twice() -> None:
    notebook = nbformat.read(ECHO, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), \
        "keep the example notebook without outputs"
    first = execute(notebook, ECHO.parent)
    second = execute(notebook, ECHO.parent)
    assert outputs(first) == outputs(second)
    # Nothing from the kernel's own clock or process ends up in the notebook.
    assert nbformat.writes(first) == nbformat.writes(second)

    code = [cell for cell in first.cells if cell.cell_type == "code"]
    assert all(o["output_type"] != "error" for cell in code for o in cell.outputs)
    result_html = text_of(code[2], "text/html")
    assert "<b>server</b>: listening on port 10000" in result_html
    assert "<b>client</b>: echoed b&#x27;This is the message. It will be repeated.&#x27;" in result_html
    printed = "".join(o.get("text", "") for o in code[3].outputs if o["output_type"] == "stream")
    assert printed.startswith("server: listening on port 10000\nserver: connection from ('127.0.0.1', ")
    assert "client: echoed b'This is the message. It will be repeated.'\n" in printed
    assert "virtual seconds: 0.0 - exit status: 0" in printed
    assert text_of(code[3], "text/plain") == "[('server', 143, True), ('client', 0, False)]"
    magic_html = text_of(code[5], "text/html")
    assert "<b>client</b>: echoed b&#x27;hello&#x27;" in magic_html
    assert "<b>client-2</b>: echoed b&#x27;again&#x27;" in magic_html
    # The two clients sleep at the same time.
    assert text_of(code[6], "text/plain") == "2.5"


def test_magic_errors_are_messages_in_the_notebook(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("%load_ext netsim"),
        nbformat.v4.new_code_cell("%netsim server=undefined_function"),
    ])
    with pytest.raises(CellExecutionError) as failure:
        execute(notebook, tmp_path)
    message = str(failure.value)
    assert "UsageError: server: name 'undefined_function' is not defined" in message
    assert "Traceback" not in message
