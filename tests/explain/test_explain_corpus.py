"""The whole shared corpus of real policies, explained in every format, and diffed against itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.explain.diff import diff_explanations
from app.explain.document import diff_document, explain_document
from app.explain.inputs import explain_paths
from app.explain.markdown import COMMENT_LIMIT, MARKER, render_diff_markdown, render_explain_markdown
from app.explain.text import render_diff_text, render_explain_text

CORPUS = Path(__file__).parents[2].parent / "shared" / "corpus" / "real"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")


@pytest.fixture(scope="module")
def explained() -> object:
    return explain_paths([str(CORPUS)])


def test_every_real_policy_is_explained_in_every_format(explained: object) -> None:
    from app.explain.inputs import Explained

    assert isinstance(explained, Explained)
    assert len(explained.policies) > 400
    document = explain_document(explained.policies, explained.errors, files=explained.files, by_subject=True)
    assert json.loads(json.dumps(document))["explainVersion"] == 1
    text = render_explain_text(document)
    assert text.count("selects") >= len(explained.policies)
    markdown = render_explain_markdown(document)
    assert markdown.count("### ") >= len(explained.policies)
    for policy in document["policies"]:
        for direction in policy["directions"]:
            for grant in direction["grants"]:
                assert grant["line"] and grant["column"] and grant["phrase"]
                assert "<none>" not in grant["phrase"]
    # The errors are the files the API server rejects at decode time, each named with its line.
    assert all(error["file"].startswith(str(CORPUS)) for error in document["errors"])


def test_the_corpus_against_itself_changes_nothing(explained: object) -> None:
    from app.explain.inputs import Explained

    assert isinstance(explained, Explained)
    result = diff_explanations(explained.policies, explained.policies)
    assert result.changes == ()
    assert render_diff_text(diff_document(result)).endswith("no change in what is allowed\n")


def test_the_corpus_deleted_fits_one_comment(explained: object) -> None:
    from app.explain.inputs import Explained

    assert isinstance(explained, Explained)
    document = diff_document(diff_explanations(explained.policies, []))
    comment = render_diff_markdown(document)
    assert comment.startswith(MARKER + "\n")
    assert len(comment) <= COMMENT_LIMIT
