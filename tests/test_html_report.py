"""report.html of a tiny zoo, opened in headless Chromium (Selenium) with the network off.

The zoo is the one of test_evaluate_ensemble (linear dlib TF1 Hub encoders and a broken
model). Checked in the browser: no console errors, every image decoded, sorting and
filtering of the models table, one hotspot card per row of hotspots.csv, and that the page
requests nothing but itself and its data: URIs. Also checked: the TensorBoard HParams runs.
"""

import csv
import glob
import json
import os
import re
import shutil

import pytest

from infofrag.cli import evaluate as evaluate_cli
from infofrag.reports import html_report
from tests.test_evaluate_ensemble import _make_zoo

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module", name="report_run")
def fixture_report_run(tmp_path_factory):
  root = _make_zoo(str(tmp_path_factory.mktemp("zoo")), num_good=4)  # beta 1, 4, 1, 4
  out = str(tmp_path_factory.mktemp("analysis"))
  code = evaluate_cli.main([
      f"--zoo={root}", f"--output_dir={out}", "--fingerprint_size=150", "--metrics=mig",
      "--gin_bindings=mig.num_train=150", "--min_samples=2", "--per_hyperparameter", "--spaces",
      "--mc_samples=200", "--tensorboard"])
  assert code == 1  # the zoo's broken model
  return root, out


@pytest.fixture(scope="module", name="browser")
def fixture_browser():
  from selenium import webdriver
  from selenium.webdriver.chrome.service import Service
  options = webdriver.ChromeOptions()
  for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--window-size=1400,1000",
                   # Any request that leaves the machine goes to a closed port and fails.
                   "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"):
    options.add_argument(argument)
  options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
  driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
  driver.execute_cdp_cmd("Network.enable", {})
  driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
      "offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
  yield driver
  driver.quit()


def _open(browser, path):
  browser.get_log("performance")  # drop entries of earlier pages
  browser.get_log("browser")
  browser.get("file://" + os.path.abspath(path))
  return browser


def _requested_urls(browser):
  urls = []
  for entry in browser.get_log("performance"):
    message = json.loads(entry["message"])["message"]
    if message["method"] == "Network.requestWillBeSent":
      urls.append(message["params"]["request"]["url"])
  return urls


def _column_values(browser, column):
  return browser.execute_script(
      "var t = document.getElementById('models');"
      "return Array.from(t.tBodies[0].rows).filter(r => !r.hidden)"
      ".map(r => r.cells[arguments[0]].textContent.trim());", column)


def test_report_is_written_and_self_contained(report_run):
  _, out = report_run
  path = os.path.join(out, "report.html")
  with open(path) as f:
    html = f.read()
  # Nothing outside the file: no http(s) URL in any src or href, and no external script/style.
  assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
  assert "<link" not in html.lower()
  assert len(re.findall(r'<img src="data:image/png;base64,', html)) == html.count("<img ")
  assert "infofrag_evaluate --zoo=" in html and "mig.num_train=150" in html  # run summary
  assert "no saved model" in html  # the broken model's reason is shown
  # Per-channel values not above chance (marked in models.csv) are shaded in the page.
  with open(os.path.join(out, "models.csv"), encoding="utf-8") as f:
    marked = sum(cell.count("\u2020") for row in csv.DictReader(f)
                 for cell in [row["best_factor_per_channel"]])
  assert marked > 0
  assert html.count('<span class="chance" title="not above chance">') >= 1


def test_report_in_headless_chromium(report_run, browser):
  _, out = report_run
  page = _open(browser, os.path.join(out, "report.html"))
  from selenium.webdriver.common.by import By

  # No console errors (SEVERE entries are script errors and failed loads).
  assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
  # Every image decoded.
  images = page.find_elements(By.TAG_NAME, "img")
  assert len(images) >= 5  # scatter, NMI + VI structure figures of 3 groups, traversals
  widths = page.execute_script("return Array.from(document.images).map(i => i.complete ? i.naturalWidth : 0);")
  assert all(width > 0 for width in widths), widths
  # Only the page itself and its data: URIs were requested.
  urls = _requested_urls(page)
  assert urls and all(url.startswith(("file://", "data:")) for url in urls), urls

  # Sorting: the "mig" header sorts the models ascending, then descending.
  headers = page.find_elements(By.CSS_SELECTOR, "#models thead tr:first-child th")
  names = [h.text.strip(" \u2195\u25b2\u25bc") for h in headers]
  mig = names.index("mig")
  before = [float(v) for v in _column_values(page, mig)]
  assert len(before) == 4 and len(set(before)) > 1  # a no-op sort cannot pass both checks
  headers[mig].click()
  ascending = [float(v) for v in _column_values(page, mig)]
  assert ascending == sorted(before)
  assert headers[mig].get_attribute("aria-sort") == "ascending"
  headers[mig].click()
  assert [float(v) for v in _column_values(page, mig)] == sorted(before, reverse=True)

  # Filtering: by text in "value" and by a numeric test on "seed".
  value = names.index("value")
  box = page.find_element(By.CSS_SELECTOR, f'#models input[data-column="{value}"]')
  box.send_keys("4")
  assert sorted(_column_values(page, names.index("model"))) == ["1", "3"]
  box.clear()
  box.send_keys(" ")  # an emptied box shows every row again
  assert len(_column_values(page, 0)) == 4
  seed_box = page.find_element(By.CSS_SELECTOR, f'#models input[data-column="{names.index("seed")}"]')
  seed_box.send_keys(">=2")
  assert sorted(_column_values(page, names.index("seed"))) == ["2", "3"]
  assert "2 of 4 rows shown" in page.find_element(By.CSS_SELECTOR, '[data-count-for="models"]').text

  # One hotspot card per row of hotspots.csv, in the same order.
  with open(os.path.join(out, "hotspots.csv")) as f:
    rows = list(csv.DictReader(f))
  cards = page.find_elements(By.CSS_SELECTOR, "article.hotspot-card")
  assert len(rows) >= 2 and len(cards) == len(rows)
  described = [(c.get_attribute("data-group"), c.get_attribute("data-distance")) for c in cards]
  assert described == [(r["group"], r["distance"]) for r in rows]
  # Each card has one bar per factor of the dataset, named.
  first_bars = cards[0].find_elements(By.CSS_SELECTOR, ".bar-row .bar-name")
  assert [b.get_attribute("textContent") for b in first_bars] == [
      "shape", "scale", "orientation", "pos_x", "pos_y"]
  # The group and distance selectors hide the other cards.
  page.execute_script("var s = document.getElementById('card-distance'); s.value = 'vi';"
                      "s.dispatchEvent(new Event('change'));")
  visible = [c for c in cards if c.is_displayed()]
  assert len(visible) == sum(r["distance"] == "vi" for r in rows)
  assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []


def test_structure_figures_of_every_group_are_embedded(report_run):
  _, out = report_run
  context = html_report.build_context(out, run_info=html_report.collect_run_info(["x"], 0.0))
  (dataset,) = context["datasets"]
  groups = [f["group"] for f in dataset["structure_figures"]]
  assert groups[0] == "all" and set(groups) == {"all", "beta_vae beta=1", "beta_vae beta=4"}
  assert all(f["nmi"] and f["vi"] for f in dataset["structure_figures"])
  assert dataset["scatter"]["y"] == "mig" and dataset["scatter"]["plotted"] == 4
  assert {t["id"] for t in context["tables"]} >= {"models", "groups", "spaces", "hotspots"}


def test_missing_results_are_explained(tmp_path):
  with pytest.raises(FileNotFoundError, match="no results.json"):
    html_report.write_report(str(tmp_path), run_info={})


def test_tensorboard_hparams_one_run_per_model(report_run):
  from tensorboard.backend.event_processing import event_accumulator
  from tensorboard.plugins.hparams import plugin_data_pb2
  _, out = report_run
  runs = sorted(os.path.relpath(os.path.dirname(p), os.path.join(out, "tensorboard"))
                for p in glob.glob(os.path.join(out, "tensorboard", "**", "events.*"), recursive=True))
  assert runs == [".", "synthetic_dsprites/0", "synthetic_dsprites/1", "synthetic_dsprites/2",
                  "synthetic_dsprites/3"]
  with open(os.path.join(out, "results.json")) as f:
    model = next(m for m in json.load(f)["models"] if m["model"] == "1")
  run = event_accumulator.EventAccumulator(os.path.join(out, "tensorboard", "synthetic_dsprites", "1"),
                                           size_guidance={"tensors": 0})
  run.Reload()
  content = run.PluginTagToContent("hparams")["_hparams_/session_start_info"]
  start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
  assert start.hparams["value"].number_value == 4.0 and start.hparams["seed"].number_value == 1
  assert start.hparams["method"].string_value == "beta_vae"
  import tensorflow as tf
  mig = tf.make_ndarray(run.Tensors("mig")[0].tensor_proto)
  assert float(mig) == pytest.approx(model["mig"], rel=1e-6)


def test_tensorboard_flag_needs_an_output_folder_and_the_package(tmp_path, monkeypatch, capsys):
  assert evaluate_cli.main([f"--zoo={tmp_path}", "--tensorboard"]) == 2
  assert "--tensorboard needs --output_dir" in capsys.readouterr().err
  import importlib.util
  real_find_spec = importlib.util.find_spec
  monkeypatch.setattr(importlib.util, "find_spec",
                      lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a))
  assert evaluate_cli.main([f"--zoo={tmp_path}", f"--output_dir={tmp_path}", "--tensorboard"]) == 2
  assert "needs the tensorboard package" in capsys.readouterr().err
