"""The request path of search and recommendations: the request context, the database thread
pool, ranker features, merchandising rules, the result payload, the retrievers, model loading
and the Redis cache. Django stays at these edges; the decisions are the engine's
(``recommend.engine``)."""
