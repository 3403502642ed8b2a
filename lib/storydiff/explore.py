"""Exploring a finished run in JupyterLab or a terminal: ``open_run`` and the views it returns.

``open_run(path)`` gives a ``Run``: the run's tables as DataFrames, read on first use
(``run.articles``, ``run.sentences``, ``run.claims``, ``run.facts``, ``run.matches``,
``run.stories``, ``run.reuse``; any table by name in ``run.tables``), and four questions a
researcher asks next, each answered by a small view object:

- ``run.search(query, k)``: the claims closest in meaning to ``query``;
- ``run.fact(fact_id)``: every article's version of one fact side by side, its discrepancies and
  the articles of the story that do not report it;
- ``run.compare(article_a, article_b)``: two articles aligned sentence by sentence;
- ``run.discrepancies(kind, story)``: the discrepancies table filtered, with the evidence. (The
  raw table is ``run.tables["discrepancies"]``; the name ``discrepancies`` is the method.)

A view shows itself as HTML in a notebook (every piece of corpus text escaped, by the helpers of
``storydiff.report``), as plain text in a terminal (``print(view)``), and gives its rows to
pandas users with ``view.to_frame()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cached_property
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from storydiff.compare import SAME_CLAIM_THRESHOLD, align_articles, select_embeddings
from storydiff.embed import EmbeddingModel, embed_texts, load_model, load_sentence_embeddings
from storydiff.figures import label_articles, shorten
from storydiff.report import html_discrepancies, html_table, mark_changed_words, wrap_view
from storydiff.runfolder import TABLES_DIR, list_tables, read_manifest, read_table, select_content_sentences

# the checkout's outputs/, as storydiff.runner.PROJECT_ROOT says (importing runner costs papermill)
OUTPUTS_DIR = Path(__file__).resolve().parents[2] / "outputs"
DISCREPANCY_KINDS = ("number", "date", "quote", "attribution")
COMPARISON_COLUMNS = ["status", "sentence_id_a", "text_a", "sentence_id_b", "text_b", "similarity"]
TEXT_WIDTH = 100  # characters of corpus text per line in the plain-text views


def find_latest_run(outputs_dir: str | Path = OUTPUTS_DIR) -> Path:
    """The run folder under ``outputs_dir`` whose manifest says ``ok`` and that ended last."""
    finished = []
    for manifest in Path(outputs_dir).glob("*/manifest.json"):
        folder = manifest.parent
        info = read_manifest(folder)
        if not folder.name.startswith(".") and info.get("status") == "ok":
            finished.append((str(info.get("ended_at", "")), folder.name, folder))
    if not finished:
        raise FileNotFoundError(
            f"{outputs_dir}: no finished run; make one with `make report` or `storydiff run`"
        )
    return max(finished)[2]


def open_run(path: str | Path | None = None, *, model: EmbeddingModel | None = None) -> Run:
    """The run in folder ``path``; ``None`` or ``""``: the latest finished run under outputs/.

    ``model`` (from ``storydiff.embed.load_model``) is the model ``search`` embeds queries
    with; by default the run's own model is loaded on the first search.
    """
    folder = find_latest_run() if not path else Path(path)
    if not (folder / TABLES_DIR).is_dir():
        raise FileNotFoundError(f"{folder}: not a run folder (no {TABLES_DIR}/ in it)")
    return Run(folder.resolve(), model)


def load_run_model(manifest: dict) -> EmbeddingModel:
    """The embedding model recorded in a run's ``manifest`` (its ``model`` entry), checked
    against the recorded weights hash, so queries land in the same space as the run's vectors."""
    identity = manifest.get("model") or {}
    if not identity:
        raise ValueError("the run's manifest records no embedding model; was the embed stage run?")
    model = load_model(identity.get("name") or identity.get("path"), backend=identity.get("backend", "torch"))
    if identity.get("sha256") and model.weights_sha256 != identity["sha256"]:
        raise ValueError(
            f"model {identity.get('name')!r} found here has weights {model.weights_sha256[:12]}..., "
            f"but the run was embedded with {identity['sha256'][:12]}...; install the model the run "
            f"used, or re-run the pipeline"
        )
    return model


def interleave_alignment(
    sentences_a: pd.DataFrame, sentences_b: pd.DataFrame, partner: dict[str, tuple[str, float]]
) -> pd.DataFrame:
    """Rows of a ``Comparison``: ``sentences_a`` and ``sentences_b`` (columns sentence_id, text;
    each in article order) with ``partner`` (A sentence_id -> (B sentence_id, cosine)). A's
    sentences keep their order; each B sentence without a partner follows the matched B sentence
    before it (or comes first)."""
    matched_b = {b for b, _ in partner.values()}
    after: dict[str, list[tuple[str, str]]] = {}  # matched B sentence_id ("" = start) -> B-only sentences
    anchor = ""
    for sid, text in zip(sentences_b["sentence_id"], sentences_b["text"]):
        if sid in matched_b:
            anchor = sid
        else:
            after.setdefault(anchor, []).append((sid, text))
    text_b = dict(zip(sentences_b["sentence_id"], sentences_b["text"]))
    rows = [("only in B", "", "", sid, text, np.nan) for sid, text in after.get("", [])]
    for sid, text in zip(sentences_a["sentence_id"], sentences_a["text"]):
        if sid not in partner:
            rows.append(("only in A", sid, text, "", "", np.nan))
            continue
        sid_b, similarity = partner[sid]
        rows.append(("matched", sid, text, sid_b, text_b[sid_b], similarity))
        rows += [("only in B", "", "", extra, extra_text, np.nan) for extra, extra_text in after.get(sid_b, [])]
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


class RunTables(Mapping):
    """The tables of one run folder by name, each read from Parquet on first access and kept."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._loaded: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._loaded:
            try:
                self._loaded[name] = read_table(self.run_dir, name)
            except FileNotFoundError as err:
                raise KeyError(str(err)) from None
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list_tables(self.run_dir))

    def __len__(self) -> int:
        return sum(1 for _ in self)  # list(self) would ask len() for a size hint


@dataclass(frozen=True, repr=False)
class View:
    """What a ``Run`` method returns: ``frame`` holds its rows; shown as HTML or plain text."""

    title: str
    frame: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The rows of this view as a new DataFrame."""
        return self.frame.copy()

    def body_html(self) -> str:
        """The HTML below the title (corpus text escaped)."""
        return html_table(self.frame).data

    def body_text(self) -> str:
        """The plain text below the title."""
        return self.frame.to_string(index=False)

    def _repr_html_(self) -> str:
        return wrap_view(f"<h4>{escape(self.title)}</h4>{self.body_html()}")

    def __repr__(self) -> str:
        return f"{self.title}\n\n{self.body_text()}"


@dataclass(frozen=True, repr=False)
class SearchResults(View):
    """Claims ranked by cosine similarity to a query: one row per claim, best first."""

    def body_html(self) -> str:
        shown = self.frame[["rank", "score", "article", "story", "kind", "text"]]
        return html_table(shown.round({"score": 3}), empty="No claims in this run.").data

    def body_text(self) -> str:
        return "\n".join(
            f"{r.rank:>3}. {r.score:.3f}  {r.article} · {r.story_id}\n       {shorten(r.text, TEXT_WIDTH)}"
            for r in self.frame.itertuples()
        ) or "No claims in this run."


@dataclass(frozen=True, repr=False)
class FactView(View):
    """One fact: ``frame`` has one row per article that reports it (its claim and wording);
    ``discrepancies`` the fact's discrepancies; ``omitted`` the story's other articles."""

    discrepancies: pd.DataFrame = field(default_factory=pd.DataFrame)
    omitted: pd.DataFrame = field(default_factory=pd.DataFrame)
    labels: dict[str, str] = field(default_factory=dict)

    def marked_versions(self) -> list[str]:
        """Each version as HTML with the words that differ from the first version marked (the
        first version marked against the second)."""
        texts = self.frame["text"].tolist()
        if len(texts) < 2:
            return [escape(t) for t in texts]
        first = mark_changed_words(texts[0], texts[1])[0]
        return [first] + [mark_changed_words(texts[0], t)[1] for t in texts[1:]]

    def body_html(self) -> str:
        head = "".join(f"<th>{escape(a)}</th>" for a in self.frame["article"])
        cells = "".join(f"<td>{t}</td>" for t in self.marked_versions())
        versions = f"<table><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>"
        omitted = ", ".join(self.omitted["article"]) or "none (every article of the story reports it)"
        return (
            f"{versions}<p><b>Discrepancies</b></p>{html_discrepancies(self.discrepancies, self.labels).data}"
            f"<p><b>Not reported by</b>: {escape(omitted)}</p>"
        )

    def body_text(self) -> str:
        lines = [f"- {r.article}: {shorten(r.text, 1000)}" for r in self.frame.itertuples()]
        lines += ["", f"Discrepancies: {len(self.discrepancies) or 'none'}"]
        lines += [f"- {d.kind}: {shorten(d.explanation, 1000)}" for d in self.discrepancies.itertuples()]
        lines += ["", "Not reported by: " + (", ".join(self.omitted["article"]) or "none")]
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class Comparison(View):
    """Two articles aligned: one row per sentence pair, ``status`` ``matched``, ``only in A`` or
    ``only in B``, in the order of article A (B's unmatched sentences after the B sentence
    before them)."""

    label_a: str = ""
    label_b: str = ""
    summary: str = ""

    def body_html(self) -> str:
        rows = []
        for r in self.frame.itertuples():
            if r.status == "matched":
                html_a, html_b = mark_changed_words(r.text_a, r.text_b)
                note = f"{r.similarity:.2f}"
            else:
                html_a, html_b, note = escape(r.text_a), escape(r.text_b), r.status
            rows.append(f"<tr><td>{html_a}</td><td>{escape(note)}</td><td>{html_b}</td></tr>")
        head = f"<tr><th>A: {escape(self.label_a)}</th><th>similarity</th><th>B: {escape(self.label_b)}</th></tr>"
        return f"<p>{escape(self.summary)}</p><table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"

    def body_text(self) -> str:
        lines = [self.summary, ""]
        for r in self.frame.itertuples():
            if r.status == "matched":
                lines += [f"= {r.similarity:.2f} A: {shorten(r.text_a, TEXT_WIDTH)}", f"          B: {shorten(r.text_b, TEXT_WIDTH)}"]
            else:
                side = "A" if r.status == "only in A" else "B"
                lines.append(f"  only in {side}: {shorten(r.text_a or r.text_b, TEXT_WIDTH)}")
        return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class DiscrepancyList(View):
    """Rows of the discrepancies table (its columns, plus ``story_id``), with the evidence."""

    labels: dict[str, str] = field(default_factory=dict)

    def body_html(self) -> str:
        return html_discrepancies(self.frame, self.labels).data

    def body_text(self) -> str:
        label = self.labels.get
        return "\n".join(
            f"- {d.kind} ({d.fact_id or 'no shared fact'}, story {d.story_id}): "
            f"{label(d.article_a, d.article_a)} says {d.value_a!s}; {label(d.article_b, d.article_b)} says {d.value_b!s}"
            f"\n  {shorten(d.explanation, 1000)}"
            for d in self.frame.itertuples()
        ) or "No discrepancy found."


class Run:
    """One run folder: tables as DataFrames (read on first use) and the exploring methods."""

    def __init__(self, path: Path, model: EmbeddingModel | None = None) -> None:
        self.path = path
        self.manifest = read_manifest(path)
        self.tables = RunTables(path)
        self._model = model
        self._sentence_embeddings: tuple[list[str], np.ndarray] | None = None
        self._claim_vectors: np.ndarray | None = None

    def __repr__(self) -> str:
        counts = ", ".join(
            f"{self.tables[name][column].nunique()} {name}"
            for name, column in (("articles", "article_id"), ("stories", "story_id"), ("claims", "claim_id"),
                                 ("facts", "fact_id"))
            if name in self.tables
        )
        model = (self.manifest.get("model") or {}).get("name", "none recorded")
        return f"Run {self.path} ({self.manifest.get('status', 'unknown')}): {counts}; embedding model {model}"

    articles = property(lambda self: self.tables["articles"], doc="The articles table.")
    sentences = property(lambda self: self.tables["sentences"], doc="The sentences table.")
    claims = property(lambda self: self.tables["claims"], doc="The claims table.")
    facts = property(lambda self: self.tables["facts"], doc="The facts table (one row per claim in a fact).")
    matches = property(lambda self: self.tables["matches"], doc="The matches table (claim pairs).")
    stories = property(lambda self: self.tables["stories"], doc="The stories table (one row per article).")
    reuse = property(lambda self: self.tables["reuse"], doc="The text reuse table (article pairs).")

    @cached_property
    def labels(self) -> dict[str, str]:
        """article_id -> short readable label of the article."""
        return dict(label_articles(self.articles, self.sentences))

    @cached_property
    def story_labels(self) -> dict[str, str]:
        """story_id -> the story's label."""
        return dict(zip(self.stories["story_id"], self.stories["label"]))

    def article_id(self, ref: str) -> str:
        """The full article_id of ``ref``: a full id or an unambiguous prefix such as "000"."""
        ids = self.articles["article_id"].tolist()
        if ref in ids:
            return ref
        found = [a for a in ids if a.startswith(str(ref))]
        if len(found) != 1:
            problem = "matches several articles" if found else "matches no article"
            raise KeyError(f"{ref!r} {problem}; the articles are: {', '.join(found or ids)}")
        return found[0]

    def model(self) -> EmbeddingModel:
        """The embedding model of this run (``open_run``'s, else loaded once from the manifest)."""
        if self._model is None:
            self._model = load_run_model(self.manifest)
        return self._model

    def sentence_vectors(self, sentence_ids: pd.Series | list[str]) -> np.ndarray:
        """The run's embeddings of ``sentence_ids``: float32 (len(sentence_ids), dim), in their
        order (``embeddings/`` of the run, read once)."""
        if self._sentence_embeddings is None:
            self._sentence_embeddings = load_sentence_embeddings(self.path)
        return select_embeddings(*self._sentence_embeddings, sentence_ids)

    def claim_vectors(self) -> np.ndarray:
        """Embeddings of the claims, float32 (n_claims, dim), row i for ``claims`` row i: the
        run's own sentence vectors, since a claim is a sentence."""
        if self._claim_vectors is None:
            self._claim_vectors = self.sentence_vectors(self.claims["sentence_id"])
        return self._claim_vectors

    def search(self, query: str, k: int = 10) -> SearchResults:
        """The ``k`` claims closest in meaning to ``query`` (cosine of the run model's vectors)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        vectors = self.claim_vectors()
        scores = vectors @ embed_texts([query], model=self.model())[0]
        top = np.argsort(-scores, kind="stable")[:k]
        hits = self.claims.iloc[top].reset_index(drop=True)
        story_of = dict(zip(self.stories["article_id"], self.stories["story_id"]))
        outlet_of = dict(zip(self.articles["article_id"], self.articles["outlet"].fillna("")))
        hits = hits.assign(
            rank=range(1, len(hits) + 1),
            score=scores[top].astype(float),
            article=hits["article_id"].map(self.labels),
            outlet=hits["article_id"].map(outlet_of),
            story_id=hits["article_id"].map(story_of),
        )
        hits["story"] = hits["story_id"].map(self.story_labels)
        columns = ["rank", "score", "claim_id", "article_id", "article", "outlet", "story_id", "story", "kind",
                   "speaker", "text"]
        return SearchResults(f"Claims closest to “{query}”", hits[columns])

    def fact(self, fact_id: str) -> FactView:
        """Every article's version of fact ``fact_id``, its discrepancies, and the articles of its
        story that do not report it."""
        rows = self.facts[self.facts["fact_id"] == fact_id]
        if rows.empty:
            known = self.facts["fact_id"]
            raise KeyError(f"no fact {fact_id!r} in this run (facts {known.min()} to {known.max()})")
        labels = self.labels
        versions = rows.sort_values("article_id")[["article_id", "claim_id", "text"]].reset_index(drop=True)
        versions.insert(1, "article", versions["article_id"].map(labels))
        story_id = rows["story_id"].iloc[0]
        in_story = self.stories.loc[self.stories["story_id"] == story_id, "article_id"]
        omitted = pd.DataFrame({"article_id": sorted(set(in_story) - set(versions["article_id"]))})
        omitted["article"] = omitted["article_id"].map(labels)
        table = self.tables["discrepancies"]
        story = f"story {story_id} ({self.story_labels.get(story_id, '')})"
        title = f"Fact {fact_id}, {story}: reported by {len(versions)} of its {len(in_story)} articles"
        return FactView(title, versions, table[table["fact_id"] == fact_id].reset_index(drop=True), omitted, labels)

    def compare(self, article_a: str, article_b: str, threshold: float | None = None) -> Comparison:
        """Articles ``article_a`` and ``article_b`` (ids or prefixes) aligned sentence by
        sentence: content sentences paired one to one, most similar first, when their cosine
        reaches ``threshold`` (default: the run's same-claim threshold); the rest marked as only
        in A or only in B."""
        if threshold is None:
            compared_with = self.manifest.get("compare_parameters") or {}
            threshold = float(compared_with.get("same_claim_threshold", SAME_CLAIM_THRESHOLD))
        id_a, id_b = self.article_id(article_a), self.article_id(article_b)
        if id_a == id_b:
            raise ValueError(f"compare needs two different articles, got {id_a} twice")
        content = select_content_sentences(self.articles, self.sentences)
        pair = content[content["article_id"].isin([id_a, id_b])].reset_index(drop=True)
        aligned = align_articles(pair, self.sentence_vectors(pair["sentence_id"]), threshold)
        if id_a > id_b:  # align_articles puts the article that sorts first on side a
            aligned = aligned.rename(columns={"sentence_id_a": "sentence_id_b", "sentence_id_b": "sentence_id_a"})
        partner = dict(zip(aligned["sentence_id_a"], zip(aligned["sentence_id_b"], aligned["similarity"])))
        frame = interleave_alignment(
            pair[pair["article_id"] == id_a].sort_values("position"),
            pair[pair["article_id"] == id_b].sort_values("position"),
            partner,
        )
        labels = self.labels
        n = frame["status"].value_counts()
        summary = (
            f"{n.get('matched', 0)} sentence pairs matched (cosine >= {threshold:.2f}), "
            f"{n.get('only in A', 0)} sentences only in A, {n.get('only in B', 0)} only in B."
        )
        reuse = self.reuse.set_index(["article_a", "article_b"])
        key = (min(id_a, id_b), max(id_a, id_b))
        if key in reuse.index and reuse.at[key, "likely_source"]:
            source = reuse.at[key, "likely_source"]
            summary += f" Likely source of the reused text: {labels.get(source, source)} ({reuse.at[key, 'direction_basis']})."
        title = f"{labels[id_a]} (A) vs {labels[id_b]} (B)"
        return Comparison(title, frame, labels[id_a], labels[id_b], summary)

    def discrepancies(self, kind: str | None = None, story: str | None = None) -> DiscrepancyList:
        """The run's discrepancies, only those of ``kind`` (number, date, quote, attribution)
        and of ``story`` (a story_id) when given; the raw table is ``run.tables["discrepancies"]``."""
        if kind is not None and kind not in DISCREPANCY_KINDS:
            raise ValueError(f"kind must be one of {', '.join(DISCREPANCY_KINDS)}, not {kind!r}")
        if story is not None and story not in set(self.stories["story_id"]):
            known = ", ".join(sorted(set(self.stories["story_id"])))
            raise ValueError(f"no story {story!r}; the stories are {known}")
        table = self.tables["discrepancies"]
        story_of = dict(zip(self.stories["article_id"], self.stories["story_id"]))
        table = table.assign(story_id=table["article_a"].map(story_of))
        if kind is not None:
            table = table[table["kind"] == kind]
        if story is not None:
            table = table[table["story_id"] == story]
        filters = ", ".join(f for f in (kind and f"kind {kind}", story and f"story {story}") if f)
        title = f"{len(table)} discrepanc{'y' if len(table) == 1 else 'ies'}" + (f" ({filters})" if filters else "")
        return DiscrepancyList(title, table.reset_index(drop=True), self.labels)
