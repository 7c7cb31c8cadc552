"""``generate_copy`` on a small store: it drafts only for the products whose description is
missing or thin, with the offline drafter (labelled) reading similar products by the retriever's
stored vectors; every draft passes or is marked; it publishes nothing; a second run supersedes
the pending drafts; the model path (a tiny config-built GPT-2, a test fixture only) labels its
drafts with the model and marks what it invents."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.copywriting.models import BannedWord, CopyDraft, DraftStatus
from catalog.models import Product
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory
from tests.factories.recommend import write_vectors
from tests.factories.training import ModelVersionFactory
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db

WRITTEN = (
    "The {brand} {model} is a sturdy kettle designed for busy kitchens. It boils water quickly "
    "and switches itself off when done. A soft-touch handle stays cool in the hand. "
    "Specifications: colour: {colour}; capacity: {capacity}."
)


@pytest.fixture
def store():
    kettles = CategoryFactory(name="Kettles")
    brands = [BrandFactory(name=n) for n in ("Brisa", "Volta", "Kalde")]
    full, thin = [], []
    for i in range(9):
        colour = ("red", "silver", "black")[i % 3]
        capacity = ("1.2 l", "1.7 l")[i % 2]
        brand = brands[i % 3]
        attrs = {"type": "kettle", "model": f"K{i}", "colour": colour, "capacity": capacity}
        text = WRITTEN.format(brand=brand.name, model=f"K{i}", colour=colour, capacity=capacity)
        full.append(
            ProductFactory(
                title=f"{brand.name} K{i} Kettle — {colour}, {capacity}",
                description=text,
                category=kettles,
                brand=brand,
                attributes=attrs,
            )
        )
    for i, description in enumerate(["", "Kettle.", "A nice kettle for tea."]):
        thin.append(
            ProductFactory(
                title=f"Brisa T{i} Kettle — silver, 1.7 l",
                description=description,
                category=kettles,
                brand=brands[0],
                attributes={
                    "type": "kettle",
                    "model": f"T{i}",
                    "colour": "silver",
                    "capacity": "1.7 l",
                },
            )
        )
    retriever = ModelVersionFactory(task="retriever", is_active=True, dimension=4)
    products = full + thin
    rng = np.random.default_rng(0)
    write_vectors(
        retriever.pk,
        [p.pk for p in products],
        rng.normal(size=(len(products), 4)).astype(np.float32),
    )
    return {"full": full, "thin": thin}


def launch(user, **params):
    job = services.job_launch(kind="generate_copy", params=params, user=user)
    return services.job_run(job_id=job.pk)


def test_the_job_drafts_only_thin_products_and_publishes_nothing(store, operator_user):
    before = dict(Product.objects.values_list("pk", "description"))
    job = launch(operator_user, min_words=8)
    assert job.status == Job.Status.SUCCEEDED, job.error
    drafts = list(CopyDraft.objects.order_by("product_id"))
    assert [d.product_id for d in drafts] == [p.pk for p in store["thin"]]
    assert dict(Product.objects.values_list("pk", "description")) == before  # nothing published
    for d in drafts:
        assert d.status == DraftStatus.PENDING and d.drafter == "template-extractive"
        assert {c["name"] for c in d.checks} == {
            "attributes",
            "banned_words",
            "length",
            "duplicate",
        }
        assert d.passes_checks == all(c["ok"] for c in d.checks)
        assert d.current_text == before[d.product_id] and d.job_id == job.pk
        assert "Specifications: type: kettle; model: T" in d.text
        # borrowed from a well-written neighbour, never its colour, brand or model
        assert d.sources and "switches itself off" in d.text
        assert "Volta" not in d.text and "red" not in d.text
    assert all(d.passes_checks for d in drafts)
    assert job.metrics["drafted"] == 3 and job.metrics["passed"] == 3
    assert job.metrics["drafter"] == "template-extractive"


def test_a_chosen_set_and_a_second_run_supersede_the_pending_draft(store, operator_user):
    chosen = store["full"][0]
    BannedWord.objects.create(word="sturdy")
    job = launch(operator_user, products=f"{chosen.external_id}, nope-404,{chosen.external_id}")
    assert job.status == Job.Status.SUCCEEDED, job.error
    [draft] = CopyDraft.objects.all()
    assert draft.product_id == chosen.pk
    launch(operator_user, products=chosen.external_id)
    statuses = sorted(CopyDraft.objects.values_list("status", flat=True))
    assert statuses == [DraftStatus.PENDING, DraftStatus.SUPERSEDED]


def test_the_model_path_labels_its_drafts_and_marks_what_it_invents(
    store, operator_user, settings, tmp_path
):
    import torch
    from transformers import BertTokenizer, GPT2Config, GPT2LMHeadModel

    from tests.training.conftest import SPECIAL_TOKENS

    words = ["kettle", "red", "blue", "glass", "42", "silver", "brisa", ":", "."]
    directory = tmp_path / "tiny-gpt2"
    directory.mkdir()
    (directory / "vocab.txt").write_text("\n".join([*SPECIAL_TOKENS, *words]) + "\n")
    tokenizer = BertTokenizer(vocab=str(directory / "vocab.txt"))
    tokenizer.save_pretrained(str(directory))
    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=1, n_head=2, n_positions=512)
    )
    model.save_pretrained(str(directory))
    settings.AISLE_GENERATOR_MODEL = str(directory)
    job = launch(operator_user, min_words=8, max_new_tokens=24, device="cpu")
    assert job.status == Job.Status.SUCCEEDED, job.error
    drafts = list(CopyDraft.objects.all())
    assert len(drafts) == 3
    for d in drafts:
        assert d.drafter == f"model:{directory}"
        assert len(d.checks) == 4
        # whatever a random tiny model writes is checked: marked, not hidden
        assert d.passes_checks == all(c["ok"] for c in d.checks)
    assert job.metrics["drafted"] == 3
