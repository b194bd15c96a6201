"""What publishing costs, and what serving a long session to many players costs.

    .venv/bin/python benchmarks/publish_cost.py

(a) Builds three example sessions with a warm cache, one at a time as publish
does (build's --jobs default would run two at once), then publishes the same
three into a folder (feed, page, chapters, transcripts, timelines too), best
of two each, and prints publish ÷ build — target <= 1 (about 1: the extras
are small next to the audio).
(c) Publishes the same three with --split (a file per stage), warm, best of two, and
prints that ÷ the publish without it — target <= 1.3.
(d) Opens the published page of the three, served by `voiceguide serve`, in headless
Chromium at phone size and prints its first contentful paint — target < 1 s — and
the size of the page's own JavaScript and CSS — target < 60 KB together.
(b) Serves a 60-minute session from a real `voiceguide serve` on 127.0.0.1,
sends 50 concurrent Range requests, five times over, and prints the server's
memory after the first and after the last round — target: flat.
Prints figures only.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import VOICEGUIDE, build, rss_kb, script_yaml, timed  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "scripts_yaml" / f"{n}.yaml" for n in ("easy", "strides", "core_circuit")]



def ranged(port: int, start: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/long.mp3", headers={"Range": f"bytes={start}-{start + 65535}"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def page_figures(site: Path, env: dict[str, str]) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from voiceguide.phone.page import ASSETS, PLAYER

    own = sum((PLAYER / name).stat().st_size for name in ASSETS if not name.startswith("sw"))
    server = subprocess.Popen([str(VOICEGUIDE), "serve", str(site), "--host", "127.0.0.1",
                               "--port", "0"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    address = re.search(r"(http://\S+/)feed.xml", server.stdout.readline())
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--window-size=390,844", "--no-first-run",
                 f"--user-data-dir={site.parent / 'profile'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"),
                               options=options)
    try:
        paints = []
        for _ in range(3):
            browser.get(address.group(1))  # type: ignore[union-attr]
            paints.append(browser.execute_script(
                "const p = performance.getEntriesByName('first-contentful-paint')[0];"
                "return p ? p.startTime : performance.timing.domContentLoadedEventEnd"
                " - performance.timing.navigationStart"))
    finally:
        browser.quit()
        server.terminate()
        server.wait(timeout=30)
    print(f"(d) the page of 3 sessions: first contentful paint {paints[0]:.0f} ms cold, "
          f"{min(paints):.0f} ms best of 3 (target < 1000 ms); its own JavaScript and CSS "
          f"{own / 1024:.1f} KB (target < 60 KB)")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-bench-"))
    env = {**os.environ, "XDG_CACHE_HOME": str(folder / "cache")}
    try:
        paths = [str(p) for p in EXAMPLES]
        # one at a time, as publish builds: build's default --jobs would run two at once
        one_by_one = [str(VOICEGUIDE), "build", *paths, "-o", str(folder), "--jobs", "1"]
        timed(one_by_one, env)  # warm the cache
        builds = min(timed(one_by_one, env) for _ in range(2))
        publishes = min(timed([str(VOICEGUIDE), "publish", *paths, "--to",
                               str(folder / "site")], env) for _ in range(2))
        print(f"(a) publish of 3 examples {publishes:.1f} s / build {builds:.1f} s = "
              f"{publishes / builds:.2f}  (target <= 1)")
        split = [str(VOICEGUIDE), "publish", *paths, "--to", str(folder / "split"), "--split"]
        timed(split, env)  # the stage files' islands into the cache
        splits = min(timed(split, env) for _ in range(2))
        print(f"(c) publish --split {splits:.1f} s / publish {publishes:.1f} s = "
              f"{splits / publishes:.2f}  (target <= 1.3)")
        page_figures(folder / "site", env)

        (folder / "long.yaml").write_text(script_yaml(60), encoding="utf-8")
        build(folder / "long.yaml", folder / "site" / "long.mp3", env)
        size = (folder / "site" / "long.mp3").stat().st_size
        server = subprocess.Popen([str(VOICEGUIDE), "serve", str(folder / "site"), "--host",
                                   "127.0.0.1", "--port", "0"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert server.stdout is not None
        port = int(re.search(r":(\d+)/feed", server.stdout.readline()).group(1))  # type: ignore[union-attr]
        memory, failures = [], 0
        with ThreadPoolExecutor(50) as pool:
            for round_ in range(5):
                starts = [((round_ * 50 + n) * 1_000_003) % (size - 65536) for n in range(50)]
                failures += sum(status != 206 for status in pool.map(
                    lambda s: ranged(port, s), starts))
                memory.append(rss_kb(server.pid) / 1024)
        server.terminate()
        server.wait(timeout=30)
        print(f"(b) 5 x 50 concurrent Range requests on a {size / 1e6:.0f} MB session: "
              f"{failures} failures; server memory {memory[0]:.0f} MB after the first round, "
              f"{memory[-1]:.0f} MB after the last (target: flat)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
