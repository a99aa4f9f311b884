"""Smoke tests of the installed package: it imports, knows its version, and its
docstring example (a server and a client as functions) runs."""

import doctest

import netsim


def test_version_is_the_project_version():
    assert netsim.__version__ == "0.1.0"


def test_package_docstring_example_runs():
    failures, tried = doctest.testmod(netsim, verbose=False)
    assert tried > 0
    assert failures == 0
