"""Drafted product copy, never published without a person (issue 17 §1).

The ``generate_copy`` job drafts descriptions for products whose own are missing or thin
(``training.runners.generate_copy``); every draft goes through the guardrails
(``logic.guardrails``) and waits in the admin's approval queue (Catalog → Copy drafts), where a
person edits, approves or rejects it. Only an approval writes the product's description
(audited, and the product marked for re-embedding): the job publishes nothing.
"""
