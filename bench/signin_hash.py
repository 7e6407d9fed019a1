"""What one PIN guess costs with the workers file's scrypt settings; prints JSON.

Measured here (CPU time of one thread, best of several, so other load on the
machine does not count) and scaled to a Raspberry Pi 4 by ``PI4_FACTOR``: the
Pi 4's Cortex-A72 at 1.5 GHz with LPDDR4 is taken as 4x slower than one x86
server core for scrypt (memory-bound); an assumption, stated, not measured here.
Then what an offline attacker holding a kiosk's disk needs to find one worker's
6-digit PIN (each worker has their own salt, so it is per worker).

    .venv/bin/python bench/signin_hash.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from canopy.workerfile import SCRYPT_N, SCRYPT_P, SCRYPT_R, hash_pin, verify_pin

PI4_FACTOR = 4.0
ROUNDS = 5


def main() -> None:
    stored = hash_pin("482913")
    times = []
    for _ in range(ROUNDS):
        start = time.thread_time()
        verify_pin("000000", stored)
        times.append(time.thread_time() - start)
    here = min(times)
    space = 10 ** 6
    print(json.dumps({
        "scrypt": {"N": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
                   "memory_mib": 128 * SCRYPT_N * SCRYPT_R // 2**20},
        "guess_s_here": round(here, 4),
        "pi4_factor_assumed": PI4_FACTOR,
        "guess_s_pi4": round(here * PI4_FACTOR, 3),
        "six_digit_pins": space,
        "offline_core_hours_all_6_digits_here": round(space * here / 3600, 1),
        "offline_core_hours_mean_6_digits_here": round(space * here / 3600 / 2, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
