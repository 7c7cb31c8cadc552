"""The one loader of a generative text model: any Hugging Face seq2seq or causal LM.

Every feature that can use a generative model goes through this module and one setting,
``AISLE_GENERATOR_MODEL`` (a Hugging Face model id or a local directory; empty: none): the
retriever's synthetic queries today (doc2query style, :meth:`TextGenerator.queries_for`), the
intent answers and product copy later (:meth:`TextGenerator.generate`). The loader never
downloads unless the model source allows it (``HF_HUB_OFFLINE`` is honoured as everywhere
else), and it picks the architecture from the model's config: ``is_encoder_decoder`` means a
seq2seq model (T5, BART ...), anything else a causal LM (GPT-2, Llama, Qwen ...).

Plain Python + torch, no Django; the setting is read by the callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The prompt a causal LM continues to write a query for a product (a seq2seq model, trained
#: doc2query-style, gets the product text alone).
QUERY_PROMPT = "Product: {text}\nA shopper searching for this product types:"


@dataclass
class TextGenerator:
    """A loaded generator: the model, its tokenizer, whether it is seq2seq, and its device."""

    model: Any
    tokenizer: Any
    seq2seq: bool
    device: str
    source: str

    def generate(
        self,
        prompts: Sequence[str],
        *,
        max_new_tokens: int = 32,
        num_return_sequences: int = 1,
        do_sample: bool = False,
        seed: int = 0,
        max_input_tokens: int = 256,
        batch_size: int = 16,
    ) -> list[list[str]]:
        """One list of ``num_return_sequences`` continuations per prompt (the prompt itself
        left out for a causal LM), stripped."""
        import torch

        torch.manual_seed(seed)
        out: list[list[str]] = []
        tok = self.tokenizer
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token or tok.unk_token
        if not self.seq2seq:
            tok.padding_side = "left"  # a causal LM continues the last token of each row
        for start in range(0, len(prompts), batch_size):
            batch = list(prompts[start : start + batch_size])
            enc = tok(
                batch,
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=max_input_tokens,
            ).to(self.device)
            enc.pop("token_type_ids", None)
            with torch.inference_mode():
                ids = self.model.generate(
                    **enc,
                    max_new_tokens=max_new_tokens,
                    num_return_sequences=num_return_sequences,
                    do_sample=do_sample or num_return_sequences > 1,
                    top_k=20 if (do_sample or num_return_sequences > 1) else None,
                    pad_token_id=tok.pad_token_id,
                )
            if not self.seq2seq:
                ids = ids[:, enc["input_ids"].shape[1] :]
            texts = tok.batch_decode(ids, skip_special_tokens=True)
            for i in range(len(batch)):
                chunk = texts[i * num_return_sequences : (i + 1) * num_return_sequences]
                out.append([t.strip() for t in chunk])
        return out

    def queries_for(
        self, product_texts: Sequence[str], *, per_text: int = 3, seed: int = 0
    ) -> list[list[str]]:
        """doc2query: ``per_text`` search queries per product text (the first line of each
        generation, distinct, non-empty)."""
        prompts = (
            list(product_texts)
            if self.seq2seq
            else [QUERY_PROMPT.format(text=t[:600]) for t in product_texts]
        )
        raw = self.generate(
            prompts, max_new_tokens=16, num_return_sequences=per_text, do_sample=True, seed=seed
        )
        out = []
        for queries in raw:
            lines = [q.splitlines()[0].strip(" \"'.") if q.strip() else "" for q in queries]
            out.append([q for q in dict.fromkeys(lines) if q])
        return out


def load_generator(source: str, *, device: str | None = None, dtype: Any = None) -> TextGenerator:
    """Load ``source`` (a Hugging Face id or a local directory) as a :class:`TextGenerator`
    on ``device`` (default: CUDA when available, else CPU), in eval mode; ``dtype`` (a torch
    dtype) loads the weights in that precision — by default bfloat16 on a CUDA card that has
    it, else float16 there, and as stored on the CPU (``torch.float32`` keeps full precision
    on a GPU)."""
    if not source:
        raise ValueError("no generator model is configured (AISLE_GENERATOR_MODEL is empty)")
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM, AutoTokenizer

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if dtype is None and str(device).startswith("cuda"):
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    config = AutoConfig.from_pretrained(source)
    seq2seq = bool(getattr(config, "is_encoder_decoder", False))
    loader = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    kwargs = {"torch_dtype": dtype} if dtype is not None else {}
    model = loader.from_pretrained(source, **kwargs).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    return TextGenerator(
        model=model, tokenizer=tokenizer, seq2seq=seq2seq, device=device, source=source
    )
