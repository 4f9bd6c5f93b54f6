"""Issue #8.9: the declared dependency floors exclude versions with known vulnerabilities."""

import re

from tests.conftest import REPO

FIXED = {
    "torch": (2, 6),  # CVE-2025-32434: torch.load(weights_only=True) bypass
    "pillow": (10, 3),  # CVE-2023-4863 (libwebp, 10.0.1), CVE-2023-50447 (10.2), CVE-2024-28219 (10.3)
    "tqdm": (4, 66, 3),  # CVE-2024-34062
    "opencv-python-headless": (4, 8, 1, 78),  # bundled libwebp CVE-2023-4863
}


def _floors():
    text = (REPO / "pyproject.toml").read_text()
    floors: dict[str, list[tuple[int, ...]]] = {}
    for name, version in re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9.]+)"', text):
        floors.setdefault(name.lower(), []).append(tuple(int(part) for part in version.split(".")))
    return floors, text


def test_vulnerable_versions_are_excluded():
    floors, _ = _floors()
    for name, fixed in FIXED.items():
        assert name in floors, name
        for floor in floors[name]:
            assert floor >= fixed, f"{name}>={'.'.join(map(str, floor))} admits a vulnerable version"


def test_hypothesis_is_a_test_dependency():
    _, text = _floors()
    test_extra = re.search(r"^test = \[(.*)\]$", text, re.M).group(1)
    assert '"hypothesis>=' in test_extra
