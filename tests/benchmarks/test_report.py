"""The pure pieces of the benchmarks: docs sections, tables, Prometheus quantiles."""

from __future__ import annotations

import pytest

from benchmarks.ingest.metrics import histogram_quantile, metric_value
from benchmarks.report import markdown_table, replace_section


def test_benchmark_docs_replace_only_their_own_section(tmp_path):
    path = tmp_path / "benchmarks.md"
    replace_section(path, "## API\n\nfirst\n")
    assert path.read_text() == "## API\n\nfirst\n"
    path.write_text("# Benchmarks\n\n## Ingest\n\n10k/s\n\n" + path.read_text() + "\n## Later\n\nkept\n")
    replace_section(path, "## API\n\nsecond\n")
    assert path.read_text() == "# Benchmarks\n\n## Ingest\n\n10k/s\n\n## API\n\nsecond\n\n## Later\n\nkept\n"


def test_a_section_must_start_with_its_heading(tmp_path):
    with pytest.raises(ValueError, match="starts with '## '"):
        replace_section(tmp_path / "b.md", "API\n\nno heading\n")


def test_markdown_tables_right_align_the_figures():
    assert markdown_table(["mode", "readings/s"], [("naive", "1,108"), ("homevitals", "3,318")]) == (
        "| mode | readings/s |\n|---|---:|\n| naive | 1,108 |\n| homevitals | 3,318 |"
    )


def test_histogram_quantile_interpolates_within_a_bucket():
    text = "\n".join(
        [
            'lag_bucket{le="0.1"} 50.0',
            'lag_bucket{le="0.2"} 90.0',
            'lag_bucket{le="0.5"} 100.0',
            'lag_bucket{le="+Inf"} 100.0',
        ]
    )
    assert histogram_quantile(text, "lag", 0.5) == pytest.approx(0.1)
    assert histogram_quantile(text, "lag", 0.7) == pytest.approx(0.15)
    assert histogram_quantile(text, "lag", 0.99) == pytest.approx(0.47)
    assert histogram_quantile("", "lag", 0.5) is None


def test_metric_values_sum_over_labels():
    text = 'stored_total{worker="a"} 3.0\nstored_total{worker="b"} 4.0\nstored_totalx 100.0\n'
    assert metric_value(text, "stored_total") == 7.0


def test_profile_samples_are_named_by_the_innermost_cost():
    from benchmarks.ingest.profile import breakdown

    collapsed = "\n".join(
        [
            "main (ingest/service.py:1);validate_readings (ingest/validation.py:3);model_validate_json (p.py:4) 7",
            "main (ingest/service.py:1);validate_readings (ingest/validation.py:3);_surely_no_duplicate_key (v.py:9) 2",
            "main (ingest/service.py:1);loop_read (paho/mqtt/client.py:5);_handle_publish (paho/mqtt/client.py:6) 3",
            "main (ingest/service.py:1);mystery (x.py:1) 1",
        ]
    )
    assert breakdown(collapsed) == {
        "validation: pydantic parse": 7,
        "validation: duplicate-key check": 2,
        "paho: receive + parse": 3,
        "other": 1,
    }
