#!/usr/bin/env python3
"""Reference vectors for the circadian package's body-clock models.

Runs the Arcascope open-source circadian library (Apache-2.0), pinned to
version 1.0.3, and writes one JSON file per model (forger99, jewett99,
hannay19) into circadian/testdata/reference/: derivatives at fixed states
and light levels, and ten-day trajectories under four light schedules with
the CBTmin and DLMO times the library finds. circadian/reference_test.go
compares the Go models with them.

Run it with any Python 3: when the pinned library is not importable it makes
a virtual environment (REFGEN_VENV, default a folder in the temp directory),
installs circadian==1.0.3 and numpy into it, and runs itself again there.

    python3 circadian/internal/refgen/gen.py [output-dir]
"""

import os
import subprocess
import sys
import tempfile

LIBRARY = "circadian==1.0.3"
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "..", "testdata", "reference"))

STEP = 0.1  # hours, the Go package's Step
STEPS_PER_DAY = 240
DAYS = 10
SAMPLE_EVERY = 10  # keep every 10th state: hourly
LUXES = [0.0, 10.0, 100.0, 1000.0, 10000.0]
N_STATES = 20


def ensure_library():
    """Re-executes this script in a venv that has the pinned library."""
    try:
        import circadian  # noqa: F401
        from importlib.metadata import version

        if version("circadian") == LIBRARY.split("==")[1]:
            return
    except Exception:
        pass
    if os.environ.get("REFGEN_IN_VENV"):
        sys.exit("the virtual environment does not provide " + LIBRARY)
    venv = os.environ.get("REFGEN_VENV", os.path.join(tempfile.gettempdir(), "zoner-refgen-venv"))
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    subprocess.check_call([py, "-m", "pip", "install", "--quiet", LIBRARY, "numpy"])
    env = dict(os.environ, REFGEN_IN_VENV="1")
    os.execve(py, [py, os.path.abspath(__file__)] + sys.argv[1:], env)


# Light schedules, one lux value per 0.1-h step from midnight of day 0,
# built from whole steps so that both sides rebuild them exactly. Each is
# stored run-length encoded as [steps, lux] pairs.


def regular(lux, on_step=70, off_step=230, days=DAYS):
    """lux from 07:00 to 23:00 each day, dark otherwise."""
    return [lux if on_step <= k % STEPS_PER_DAY < off_step else 0.0 for k in range(days * STEPS_PER_DAY)]


def pulses():
    """Regular 300-lux days; 3 h of 10,000 lux at 20:00 on days 2-4 (before
    CBTmin: delays) and at 07:00 on days 6-7 (after CBTmin: advances)."""
    light = regular(300.0)
    for day, start in [(2, 200), (3, 200), (4, 200), (6, 70), (7, 70)]:
        for k in range(30):
            light[day * STEPS_PER_DAY + start + k] = 10000.0
    return light


def advance8():
    """Regular 300-lux days at home; from midnight of day 4 the days run 8 h
    earlier, as after an eastward flight across eight zones: light from
    23:00 to 15:00 home time."""
    light = []
    for k in range(DAYS * STEPS_PER_DAY):
        local = k if k < 4 * STEPS_PER_DAY else k + 80
        light.append(300.0 if 70 <= local % STEPS_PER_DAY < 230 else 0.0)
    return light


SCHEDULES = [
    ("regular300", lambda: regular(300.0)),
    ("pulses10000", pulses),
    ("advance8h", advance8),
    ("dark", lambda: [0.0] * (DAYS * STEPS_PER_DAY)),
]


def rle(light):
    out = []
    for v in light:
        if out and out[-1][1] == v:
            out[-1][0] += 1
        else:
            out.append([1, v])
    return out


def states_for(name, rng):
    """Derivative test states: the library's default initial condition and
    states spread over where the model lives (and a little beyond)."""
    import numpy as np

    if name == "hannay19":
        r = rng.uniform(0.1, 1.0, N_STATES - 1)
        psi = rng.uniform(-10.0, 40.0, N_STATES - 1)
        n = rng.uniform(0.0, 1.0, N_STATES - 1)
        cols = (r, psi, n)
    else:
        x = rng.uniform(-1.3, 1.3, N_STATES - 1)
        xc = rng.uniform(-1.3, 1.3, N_STATES - 1)
        n = rng.uniform(0.0, 1.0, N_STATES - 1)
        cols = (x, xc, n)
    return [list(map(float, s)) for s in np.stack(cols, axis=1)]


def generate(name, model, seed):
    import numpy as np

    ic = np.array(model._default_initial_condition, dtype=float)
    out = {
        "library": LIBRARY,
        "model": name,
        "params": {k: float(v) for k, v in model.parameters.items()},
        "initial": [float(v) for v in ic],
        "derivatives": [],
        "trajectories": [],
    }
    rng = np.random.default_rng(seed)
    for s in [list(map(float, ic))] + states_for(name, rng):
        for lux in LUXES:
            d = model.derv(0.0, np.array(s), lux)
            out["derivatives"].append({"state": s, "lux": lux, "deriv": [float(v) for v in d]})

    for sched, make in SCHEDULES:
        light = make()
        n = len(light)
        time = np.arange(n + 1) * STEP
        # The library integrates the step from time[i-1] to time[i] with the
        # light of input[i]; the Go package holds light[i] over the step from
        # i to i+1. Shifting the input by one makes the two the same
        # computation: input[0] is never used.
        inp = np.array([light[0]] + light, dtype=float)
        traj = model.integrate(time, initial_condition=ic.copy(), input=inp)
        states = traj.states
        out["trajectories"].append({
            "schedule": sched,
            "light": rle(light),
            "sample_every": SAMPLE_EVERY,
            "samples": [[float(v) for v in states[i]] for i in range(0, n + 1, SAMPLE_EVERY)],
            "final": [float(v) for v in states[-1]],
            "cbtmins": [float(v) for v in model.cbt(traj)],
            "dlmos": [float(v) for v in model.dlmos(traj)],
        })
    return out


def dump(obj):
    """JSON with one record per line: small, and readable in a diff."""
    import json

    def one(v):
        return json.dumps(v, separators=(",", ":"))

    lines = ["{"]
    keys = list(obj)
    for i, k in enumerate(keys):
        v = obj[k]
        end = "," if i < len(keys) - 1 else ""
        if isinstance(v, list) and v and isinstance(v[0], dict):
            lines.append(one(k) + ":[")
            lines.extend(one(r) + ("," if j < len(v) - 1 else "") for j, r in enumerate(v))
            lines.append("]" + end)
        else:
            lines.append(one(k) + ":" + one(v) + end)
    lines.append("}")
    return "\n".join(lines) + "\n"


def main():
    ensure_library()
    import warnings

    from circadian.models import Forger99, Hannay19, Jewett99

    # The library warns about CBTmins closer than 6 h; none are expected,
    # and the Go test checks the spacing itself.
    warnings.filterwarnings("ignore")
    outdir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    os.makedirs(outdir, exist_ok=True)
    for name, cls, seed in [("forger99", Forger99, 1999), ("jewett99", Jewett99, 1998), ("hannay19", Hannay19, 2019)]:
        path = os.path.join(outdir, name + ".json")
        with open(path, "w") as f:
            f.write(dump(generate(name, cls(), seed)))
        print("wrote", path)


if __name__ == "__main__":
    main()
