"""The category subtree has one rule (catalog.selectors): its query form, its id-list form
and serving's in-memory tree agree, and a sibling whose id merely starts alike stays out."""

import pytest

from catalog import selectors
from catalog.models import Category, Product
from catalog.services.imports import catalog_import_file
from recommend.selectors import _build_category_tree

pytestmark = pytest.mark.django_db

TREE = b"external_id,name,parent\na,A,\nab,AB,\na1,A1,a\na11,A11,a1\nb,B,\n"


def test_the_three_forms_of_the_subtree_agree():
    assert catalog_import_file(kind="categories", source=TREE, fmt="csv").ok
    ids = dict(Category.objects.values_list("external_id", "id"))
    expected = {ids["a"], ids["a1"], ids["a11"]}

    assert set(selectors.category_subtree_ids(ids["a"])) == expected
    assert set(_build_category_tree().subtree_ids("a")) == expected
    assert _build_category_tree().subtree_ids("missing") is None
    assert selectors.category_subtree_ids(-1) == []
    product = Product.objects.create(external_id="p", title="p", price=1, category_id=ids["a11"])
    assert list(selectors.category_subtree(Product.objects.all(), path="a")) == [product]
    assert not selectors.category_subtree(Product.objects.all(), path="ab").exists()
    assert selectors.in_subtree("a/a1", "a") and not selectors.in_subtree("ab", "a")
