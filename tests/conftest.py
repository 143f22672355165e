import pytest

from tests.helpers import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data():
    """The official 2020 split lists in ../shared (never copied into the project)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: the tests read the 2020 split lists from ../shared")
    return SHARED_DATA
