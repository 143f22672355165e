import gzip
import os

import pytest
from hypothesis import HealthCheck, settings

from bundler.config.competition import COMPETITIONS
from tests.helpers import SHARED_DATA, SHIPPED_2020

# Property-based tests: a bounded, repeatable budget in `make test`; `make fuzz` explores far longer.
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_QUIET)
settings.register_profile("fuzz", max_examples=3000, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def lists_2020(tmp_path_factory):
    """The official 2020 split lists, from the project's own compressed copy, laid out as ../shared has them."""
    folder = tmp_path_factory.mktemp("vipriors-2020")
    for competition, name in SHIPPED_2020.items():
        (folder / name).mkdir()
        for packed in (COMPETITIONS / competition / "splits" / "vipriors-2020").glob("*.gz"):
            (folder / name / packed.name[:-3]).write_bytes(gzip.decompress(packed.read_bytes()))
    return folder


@pytest.fixture(scope="session")
def shared_data():
    """The lists as received in ../shared, for the cross-check only: absent outside our machines."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (only the project's machines have ../shared); "
                    "the shipped copy in competitions/*/*/splits/ is used everywhere else")
    return SHARED_DATA
