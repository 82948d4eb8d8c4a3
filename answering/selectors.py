"""Reads of a client's answering settings and knowledge facts. Every function here runs
inside one client's schema. (The call flow's reads are in ``flow.selectors``, the
scripts' in ``scripts.selectors``.)"""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import Q, QuerySet

from answering.models import AnsweringSettings, KnowledgeFact


def answering_settings_get() -> AnsweringSettings | None:
    return AnsweringSettings.objects.first()


def knowledge_fact_list() -> QuerySet[KnowledgeFact]:
    return KnowledgeFact.objects.all()


def knowledge_search(*, query: str, limit: int = 10) -> list[KnowledgeFact]:
    """Facts matching ``query``, best first: PostgreSQL full-text search over title (weighted
    higher) and body; queries under three characters, or that full text does not match (a
    word's beginning, a number), fall back to a case-insensitive substring match."""
    query = (query or "").strip()
    if not query:
        return list(KnowledgeFact.objects.all()[:limit])
    if len(query) >= 3:
        vector = SearchVector("title", weight="A", config="english") + SearchVector("body", weight="B", config="english")
        search = SearchQuery(query, search_type="websearch", config="english")
        found = list(KnowledgeFact.objects.annotate(document=vector, rank=SearchRank(vector, search))
                     .filter(document=search).order_by("-rank", "position", "title")[:limit])
        if found:
            return found
    return list(KnowledgeFact.objects.filter(Q(title__icontains=query) | Q(body__icontains=query))[:limit])
