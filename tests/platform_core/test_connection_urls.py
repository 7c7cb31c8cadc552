import pytest

from platform_core import connection_urls


def test_socket_database_url_round_trips():
    url = "postgresql://postgres@/aisle?host=/tmp/pg%20sock"
    db = connection_urls.database_settings(url)
    assert (db["NAME"], db["USER"], db["HOST"], db["PORT"]) == (
        "aisle",
        "postgres",
        "/tmp/pg sock",
        "",
    )
    assert (
        connection_urls.database_settings(connection_urls.database_url(db, name="test_aisle"))[
            "NAME"
        ]
        == "test_aisle"
    )
    assert (
        connection_urls.database_settings(connection_urls.database_url(db))["HOST"]
        == "/tmp/pg sock"
    )


def test_tcp_database_url_with_password():
    db = connection_urls.database_settings("postgres://aisle:s%40cret@db:5433/shop?sslmode=require")
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "aisle",
        "s@cret",
        "db",
        "5433",
        "shop",
    )
    # psycopg's own threshold for statements bound on the server (Django's default turns it off)
    assert db["OPTIONS"] == {"sslmode": "require", "prepare_threshold": 5}
    assert connection_urls.database_settings("postgres://h/shop?prepare_threshold=0")[
        "OPTIONS"
    ] == {"prepare_threshold": 0}
    # off, for a pooler in transaction mode
    assert connection_urls.database_settings("postgres://h/shop?prepare_threshold=none")[
        "OPTIONS"
    ] == {"prepare_threshold": None}


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("mysql://x@host/db", "postgresql://"),
        ("postgresql://x@host/", "names no database"),
        ("postgresql://x@host/db?prepare_threshold=often", "prepare_threshold must be"),
    ],
)
def test_bad_database_urls_name_the_problem(url, fragment):
    with pytest.raises(connection_urls.ConfigurationError, match=fragment):
        connection_urls.database_settings(url)


def test_redis_urls_for_cache_and_celery():
    assert connection_urls.redis_url("unix:///d/redis.sock", db=15) == "unix:///d/redis.sock?db=15"
    assert (
        connection_urls.celery_broker_url("unix:///d/redis.sock?db=15")
        == "redis+socket:///d/redis.sock?virtual_host=15"
    )
    assert connection_urls.redis_url("redis://h:6379/0", db=3) == "redis://h:6379/3"
    assert connection_urls.celery_broker_url("redis://h:6379/3") == "redis://h:6379/3"
    assert connection_urls.redis_db("redis://h:6379/7") == 7
    with pytest.raises(connection_urls.ConfigurationError):
        connection_urls.redis_url("http://h")
