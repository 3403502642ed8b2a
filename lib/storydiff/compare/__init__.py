"""The comparison stage: stories, facts, coverage, discrepancies and text reuse."""

from storydiff.compare.coverage import build_coverage, coverage_matrix
from storydiff.compare.discrepancies import find_discrepancies
from storydiff.compare.facts import link_facts
from storydiff.compare.reuse import align_articles, summarise_reuse
from storydiff.compare.sameclaim import REUSE_THRESHOLD, SAME_CLAIM_THRESHOLD, same_claim
from storydiff.compare.stories import group_stories
from storydiff.compare.tables import (
    compare_corpus, compare_facts, compare_reuse, compare_run_facts, locate_embeddings, select_embeddings,
)
from storydiff.compare.textdiff import describe_word_changes, diff_words

__all__ = [
    "REUSE_THRESHOLD", "SAME_CLAIM_THRESHOLD", "align_articles", "build_coverage",
    "compare_corpus", "compare_facts", "compare_reuse", "compare_run_facts", "coverage_matrix", "describe_word_changes",
    "diff_words", "find_discrepancies", "group_stories", "link_facts", "locate_embeddings", "same_claim",
    "select_embeddings", "summarise_reuse",
]
