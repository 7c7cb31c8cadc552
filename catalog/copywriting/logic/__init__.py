"""Plain Python (no Django): the drafters of product copy and the guardrails every draft passes
through. ``guardrails`` holds the checks (invented attribute values, banned words, length,
near-copies of another product's description); ``drafting`` the offline template/extractive
drafter, the prompt of a generative model and the neighbour search over stored vectors."""
