"""factory_boy factories, one module per app; import them from here."""

from tests.factories.catalog import *  # noqa: F403
from tests.factories.courses import *  # noqa: F403
from tests.factories.experiments import *  # noqa: F403
from tests.factories.platform import *  # noqa: F403
from tests.factories.recommend import *  # noqa: F403
from tests.factories.training import *  # noqa: F403
