"""training.ml.losses on small examples worked out by hand."""

import math

import pytest

torch = pytest.importorskip("torch")

from training.ml.losses import multiple_negatives_ranking_loss, ranker_loss  # noqa: E402


def _queries_and_docs():
    # q1 = (1, 0), q2 = (0, 1); d1 = (1, 0), d2 = (1, 1) (cosine normalises it to (.7071, .7071)).
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    d = torch.tensor([[1.0, 0.0], [1.0, 1.0]], requires_grad=True)
    return q, d


def test_mnrl_two_by_two_by_hand():
    # cos: q1·d1 = 1, q1·d2 = 0.7071068; q2·d1 = 0, q2·d2 = 0.7071068.
    # scale 1, diagonal targets:
    #   row 1: -1 + log(e^1 + e^0.7071) = log(1 + e^(0.7071 - 1)) = log(1 + 0.746108) = 0.5573858
    #   row 2: -0.7071 + log(e^0 + e^0.7071) = log(1 + e^-0.7071) = log(1 + 0.493069) = 0.4008335
    #   mean = (0.5573858 + 0.4008335) / 2 = 0.4791096
    q, d = _queries_and_docs()
    loss = multiple_negatives_ranking_loss(q, d, scale=1.0)
    assert loss.item() == pytest.approx(0.4791096, abs=1e-6)
    loss.backward()
    assert q.grad is not None and d.grad is not None

    # scale 20: row 1 log(1 + e^(20 * -0.2929)) = 0.0028533, row 2 log(1 + e^-14.142) = 7.2e-7
    q, d = _queries_and_docs()
    loss20 = multiple_negatives_ranking_loss(q, d)  # default scale 20
    assert loss20.item() == pytest.approx((0.0028533 + 7.2135e-7) / 2, abs=1e-6)


def test_mnrl_hard_negatives_are_extra_candidates():
    # hard negative h = (0, 1) for every query; scale 1:
    #   row 1 logits (1, .7071, 0), target 0: log(e + e^.7071 + 1) - 1      = 0.7485730
    #   row 2 logits (0, .7071, 1), target 1: log(1 + e^.7071 + e) - 0.7071 = 1.0414662
    q, d = _queries_and_docs()
    hard = torch.tensor([[0.0, 1.0]])
    loss = multiple_negatives_ranking_loss(q, d, scale=1.0, hard_negatives=hard)
    assert loss.item() == pytest.approx((0.7485730 + 1.0414662) / 2, abs=1e-6)


def test_mnrl_low_precision_inputs_and_shape_check():
    q, d = _queries_and_docs()
    loss = multiple_negatives_ranking_loss(q.detach().bfloat16(), d.detach().bfloat16(), 1.0)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(0.4791096, abs=1e-2)
    with pytest.raises(ValueError):
        multiple_negatives_ranking_loss(torch.ones(2, 3), torch.ones(3, 3))


def test_ranker_loss_by_hand():
    # items:       0    1    2    3
    # scores       2    0    1   -1
    # clicks       1    0    0    0
    # list         A    A    B    A
    # engagement   2    0    1    0
    # BCE(sigmoid(s), y) = log(1 + e^-s) if y = 1 else log(1 + e^s):
    #   0: log(1 + e^-2) = 0.1269280   1: log 2 = 0.6931472
    #   2: log(1 + e^1)  = 1.3132617   3: log(1 + e^-1) = 0.3132617
    #   mean = 2.4465986 / 4 = 0.6116496
    # pairs in one list with engagement_i > engagement_j: (0,1), (0,3). Items 1 and 3 tie,
    # item 2 is alone in list B (its engagement beats 1 and 3, but across lists it does not count).
    #   (0,1): log(1 + e^-(2-0))    = 0.1269280
    #   (0,3): log(1 + e^-(2-(-1))) = 0.0485874
    #   mean = 0.0877577
    # alpha 0.5, beta 2: 0.5 * 0.6116496 + 2 * 0.0877577 = 0.3058248 + 0.1755154 = 0.4813402
    scores = torch.tensor([2.0, 0.0, 1.0, -1.0], requires_grad=True)
    clicks = torch.tensor([1.0, 0.0, 0.0, 0.0])
    lists = torch.tensor([0, 0, 1, 0])
    engagement = torch.tensor([2.0, 0.0, 1.0, 0.0])
    loss = ranker_loss(scores, clicks, lists, engagement, alpha=0.5, beta=2.0)
    assert loss.item() == pytest.approx(0.4813402, abs=1e-6)
    loss.backward()
    assert scores.grad is not None

    bce_only = ranker_loss(scores, clicks, lists, engagement, alpha=1.0, beta=0.0)
    assert bce_only.item() == pytest.approx(0.6116496, abs=1e-6)
    pair_only = ranker_loss(scores, clicks, lists, engagement, alpha=0.0, beta=1.0)
    assert pair_only.item() == pytest.approx(0.0877577, abs=1e-6)


def test_ranker_loss_without_pairs_is_pointwise_only():
    # Equal engagement everywhere: |P| = 0, the pairwise term is 0 and backward still works.
    scores = torch.tensor([0.0, 1.0], requires_grad=True)
    loss = ranker_loss(
        scores, torch.tensor([0.0, 0.0]), torch.tensor([7, 7]), torch.tensor([0.0, 0.0]), 1.0, 5.0
    )
    assert loss.item() == pytest.approx((math.log(2) + math.log1p(math.e)) / 2, abs=1e-6)
    loss.backward()
    assert scores.grad is not None
