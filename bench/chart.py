"""The benchmark's chart and results page for the documentation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # draw to a file; no display needed
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from pathlib import Path

#: The loopback metrics the chart shows, as ratios to the hand-written ASGI floor.
LOOPBACK = ["HTTP plaintext req/s", "HTTP json req/s", "websocket msgs/s"]
DISPATCH = "dispatch calls/s"


def write_chart(summary: dict[str, Any], path: Path) -> None:
    """Two panels: in-process dispatch rates (log scale), and loopback throughput as a
    ratio to the hand-written floor."""
    apps = list(dict.fromkeys(row["app"] for row in summary["rows"]))
    medians = {(row["metric"], row["app"]): row["median"] for row in summary["rows"]}
    ratios = {(row["metric"], row["app"]): row["ratio"] for row in summary["rows"]}
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figure, (dispatch, loopback) = plt.subplots(
        1, 2, figsize=(11, 4.5), gridspec_kw={"width_ratios": [1, 2.2]}
    )
    # Only some apps have every metric: "trioframe run" is measured over loopback only.
    dispatched = [app for app in apps if (DISPATCH, app) in medians]
    dispatch.bar(
        dispatched,
        [medians[(DISPATCH, app)] for app in dispatched],
        color=colours[: len(dispatched)],
    )
    dispatch.set_yscale("log")
    dispatch.set_title("In-process dispatch, GET /json/42")
    dispatch.set_ylabel("ASGI calls per second (log scale)")
    dispatch.tick_params(axis="x", labelrotation=30)
    width = 0.8 / len(apps)
    for index, app in enumerate(apps):
        positions = [group + index * width for group in range(len(LOOPBACK))]
        values = [ratios[(metric, app)] for metric in LOOPBACK]
        loopback.bar(positions, values, width, label=app, color=colours[index])
    loopback.set_xticks([group + 0.4 - width / 2 for group in range(len(LOOPBACK))], LOOPBACK)
    loopback.set_ylabel("throughput / hand-written ASGI")
    loopback.set_ylim(0, 1.15)
    loopback.axhline(1.0, color="grey", linewidth=0.8)
    loopback.axhline(0.9, color="grey", linewidth=0.8, linestyle="--")
    loopback.legend(loc="lower right")
    loopback.set_title("Over loopback, hypercorn's trio worker")
    figure.suptitle(f"Medians of {summary['settings']['rounds']} interleaved rounds")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_results_page(summary: dict[str, Any], path: Path) -> None:
    """An rst fragment (included by docs/benchmarks.rst): the machine, a table of medians
    and ratios, and the targets."""
    machine = summary["machine"]
    lines = [
        f"Measured on {machine['date']}: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['system']}, Python {machine['python']}, hypercorn's trio worker "
        f"(one process), {summary['settings']['rounds']} rounds."
        + (f" Versions: {machine['versions']}." if "versions" in machine else ""),
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - Measurement",
        "     - App",
        "     - Median",
        "     - Ratio to raw ASGI",
    ]
    for row in summary["rows"]:
        lines += [
            f"   * - {row['metric']}",
            f"     - {row['app']}",
            f"     - {row['median']:,.1f}",
            f"     - {row['ratio']:.2f}",
        ]
    lines += ["", "Targets:", ""]
    for target in summary["targets"]:
        lines.append(f"- {'met' if target['met'] else '**not met**'}: {target['target']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
