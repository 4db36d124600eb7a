"""Run every benchmark in bench/ with its default arguments (`make bench`).

Each benchmark prints its own table and writes JSON next to this file under bench/out/.
Copy the numbers, with date and machine, into bench/RESULTS.md.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data" / "kitti" / "sequences"


def main() -> int:
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    jobs = [["synth.py", "--json", str(out / "synth.json")],
            ["frontend.py", "--json", str(out / "frontend.json")],
            ["evaluation_speed.py", "--json", str(out / "evaluation_speed.json")],
            ["undistort_speed.py", "--json", str(out / "undistort_speed.json")]]
    for seq in ("00", "02"):
        if (SHARED / seq).is_dir():
            jobs.append(["backend.py", str(SHARED / seq), "--width", "640", "--height", "192",
                         "--json", str(out / f"backend_{seq}_640x192.json")])
    failed = 0
    for job in jobs:
        script = HERE / job[0]
        if not script.exists():
            print(f"[bench] {job[0]} missing, skipped")
            continue
        print(f"[bench] {' '.join(job)}", flush=True)
        failed += subprocess.call([sys.executable, str(script), *job[1:]]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
