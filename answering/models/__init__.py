from .settings import AnsweringSettings
from .knowledge import KnowledgeFact

__all__ = ["AnsweringSettings", "KnowledgeFact"]
