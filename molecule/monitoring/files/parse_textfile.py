#!/usr/bin/python3
"""Parse the check's textfile with prometheus_client's own text parser (what the node
exporter's collector accepts) and print {"name{label=value,...}": value} as JSON."""

import json
import sys

from prometheus_client.parser import text_string_to_metric_families

samples = {}
with open(sys.argv[1], encoding="utf-8") as handle:
    for family in text_string_to_metric_families(handle.read()):
        if not family.documentation:
            sys.exit(f"{family.name} has no HELP text")
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
print(json.dumps(samples, sort_keys=True))
