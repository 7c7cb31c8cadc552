"""The knowledge base: articles, FAQs and policies, product Q&A, their passages and vectors.

A nested app (label ``knowledge``). Imports follow the catalogue's row-error contract
(``catalog.knowledge.services``); chunking is plain Python (``logic/``); passage vectors are
written per retriever version by ``training.knowledge_vectors``; the answers request path is
``recommend.serving.answers``.
"""
