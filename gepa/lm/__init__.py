"""The model-call layer: every task, reflection and judge call goes through ``ModelClient``.

from gepa.lm import ModelClient, ResponseCache
from gepa.lm.open import open_backend
client = ModelClient(open_backend("local/smollm2"), role="task", cache=ResponseCache())
completion = client.complete([{"role": "user", "content": "Hi"}], {"max_tokens": 8})
"""

from gepa.lm.base import Completion, LanguageModel, Message
from gepa.lm.cache import ResponseCache
from gepa.lm.client import ModelClient
from gepa.lm.fake import FakeModel
from gepa.lm.ledger import UsageLedger

__all__ = ["Completion", "FakeModel", "LanguageModel", "Message", "ModelClient", "ResponseCache", "UsageLedger"]
