"""LLM backends: one :class:`BaseLLM` interface, built from a spec string by :func:`make_llm`."""

from asap_lab.llm._base import BaseLLM, LLMError, LLMResponse, LLMTimeout
from asap_lab.llm._embedded import EmbeddedLLM
from asap_lab.llm._factory import make_llm
from asap_lab.llm._openai import OpenAICompatLLM
from asap_lab.llm._vllm import VLLMBackend  # imports vllm only when an engine loads

__all__ = [
    "BaseLLM",
    "EmbeddedLLM",
    "LLMError",
    "LLMResponse",
    "LLMTimeout",
    "OpenAICompatLLM",
    "VLLMBackend",
    "make_llm",
]
